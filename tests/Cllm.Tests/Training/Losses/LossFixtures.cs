using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Core;
using Cllm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Losses;

/// <summary>Hand-made trajectories and host-side (double precision) reference formulas for the loss tests.</summary>
internal static class LossFixtures
{
    /// <summary>
    /// A record with context [1, 5, 9, 14] and a 6-token block: y(0) mostly wrong, y(1) right up to index 2,
    /// y(2) right up to index 4, y(3) = y* = [20, 21, 22, 23, 24, 25].
    /// </summary>
    public static TrajectoryRecord Record(int[]? context = null, int salt = 0)
    {
        context ??= new[] { 1, 5, 9, 14 };
        var fixedPoint = new[] { 20, 21, 22, 23, 24, 25 }.Select(t => t + salt).ToArray();
        var states = new List<int[]>
        {
            new[] { fixedPoint[0], 40, 41, 42, 43, 44 },
            new[] { fixedPoint[0], fixedPoint[1], fixedPoint[2], 50, 51, 52 },
            new[] { fixedPoint[0], fixedPoint[1], fixedPoint[2], fixedPoint[3], fixedPoint[4], 60 },
            fixedPoint,
        };
        return new TrajectoryRecord
        {
            DataId = "data_0",
            BlockIndex = 0,
            PromptLength = context.Length,
            PromptIds = context,
            Trajectory = states,
            TeacherOutputIds = context.Concat(fixedPoint).ToArray(),
        };
    }

    /// <summary>Float32 logits (T, V) of one sequence, no gradients, as doubles.</summary>
    public static double[,] Logits(LlamaForCausalLM model, IReadOnlyList<int> ids)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = tensor(ids.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64).view(1, ids.Count);
        var logits = model.Forward(input)[0].to_type(ScalarType.Float64);
        return ToMatrix(logits);
    }

    public static double[,] ToMatrix(Tensor t)
    {
        long rows = t.shape[0], cols = t.shape[1];
        var flat = t.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        var m = new double[rows, cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                m[r, c] = flat[r * cols + c];
            }
        }

        return m;
    }

    public static double[] LogSoftmax(double[,] logits, int row)
    {
        int v = logits.GetLength(1);
        double max = double.NegativeInfinity;
        for (int i = 0; i < v; i++)
        {
            max = Math.Max(max, logits[row, i]);
        }

        double sum = 0;
        for (int i = 0; i < v; i++)
        {
            sum += Math.Exp(logits[row, i] - max);
        }

        double log = max + Math.Log(sum);
        var result = new double[v];
        for (int i = 0; i < v; i++)
        {
            result[i] = logits[row, i] - log;
        }

        return result;
    }

    public static double ForwardKl(double[] logT, double[] logS)
    {
        double d = 0;
        for (int i = 0; i < logT.Length; i++)
        {
            d += Math.Exp(logT[i]) * (logT[i] - logS[i]);
        }

        return d;
    }

    public static double ReverseKl(double[] logT, double[] logS) => ForwardKl(logS, logT);

    public static double JensenShannon(double[] logT, double[] logS)
    {
        double d = 0;
        for (int i = 0; i < logT.Length; i++)
        {
            double pt = Math.Exp(logT[i]), ps = Math.Exp(logS[i]), m = 0.5 * (pt + ps);
            d += 0.5 * (pt * Math.Log(pt / m) + ps * Math.Log(ps / m));
        }

        return d;
    }

    /// <summary>
    /// The reference consistency loss of one example computed on the host: mean over logits p = C + w − 1 … C + n − 2
    /// of D(teacher_p ‖ student_p).
    /// </summary>
    public static double Consistency(LlamaForCausalLM model, IReadOnlyList<int> context, int[] student, int[] teacher, Func<double[], double[], double> distance)
    {
        int c = context.Count, n = student.Length;
        int w = 0;
        while (w < n && student[w] == teacher[w])
        {
            w++;
        }

        if (w == n)
        {
            return 0;
        }

        var s = Logits(model, context.Concat(student).ToArray());
        var t = Logits(model, context.Concat(teacher).ToArray());
        double sum = 0;
        for (int p = c + w - 1; p <= c + n - 2; p++)
        {
            sum += distance(LogSoftmax(t, p), LogSoftmax(s, p));
        }

        return sum / (n - w);
    }

    /// <summary>Gradients of every parameter, copied to the host, by name.</summary>
    public static Dictionary<string, float[]> Gradients(LlamaForCausalLM model)
        => model.named_parameters().ToDictionary(
            p => p.name,
            p => p.parameter.grad is null ? new float[p.parameter.numel()] : p.parameter.grad.cpu().contiguous().view(-1).data<float>().ToArray());

    public static void ZeroGradients(LlamaForCausalLM model)
    {
        foreach (var p in model.parameters())
        {
            p.grad?.zero_();
        }
    }

    public static double MaxDifference(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
    {
        double max = 0;
        foreach (var (name, ga) in a)
        {
            var gb = b[name];
            for (int i = 0; i < ga.Length; i++)
            {
                max = Math.Max(max, Math.Abs(ga[i] - gb[i]));
            }
        }

        return max;
    }

    public static double MaxAbs(Dictionary<string, float[]> a) => a.Values.SelectMany(g => g).Select(x => (double)Math.Abs(x)).DefaultIfEmpty(0).Max();
}
