using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Tests.TestKit;
using Cllm.Tests.Training.Losses;
using Cllm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.JacobiForcing;

/// <summary>Jacobi Forcing's noise selection, packed layout, mask and loss.</summary>
public class JacobiForcingLayoutTests
{
    /// <summary>
    /// A record of block <paramref name="index"/> (n = 4) after <paramref name="context"/>, states of noise 1, 0.75,
    /// 0.5, 0.25 and 0 (the fixed point [10+s, 11+s, 12+s, 13+s], s = 4 · index).
    /// </summary>
    private static TrajectoryRecord Block(string dataId, int index, IReadOnlyList<int> context, int promptLength)
    {
        int s = 4 * index;
        var y = new[] { 10 + s, 11 + s, 12 + s, 13 + s };
        return new TrajectoryRecord
        {
            DataId = dataId,
            BlockIndex = index,
            PromptLength = promptLength,
            PromptIds = context.ToArray(),
            Trajectory = new[]
            {
                new[] { 90, 91, 92, 93 },                 // noise 1
                new[] { y[0], 81, 82, 83 },               // 0.75
                new[] { y[0], y[1], 72, 73 },             // 0.5
                new[] { y[0], y[1], y[2], 63 },           // 0.25
                y,                                        // 0
            },
            TeacherOutputIds = context.Concat(y).ToArray(),
        };
    }

    /// <summary>Blocks 0 … count − 1 of one prompt, each after the prompt and the earlier fixed points.</summary>
    private static List<TrajectoryRecord> Prompt(string dataId, int[] prompt, int count)
    {
        var records = new List<TrajectoryRecord>();
        IReadOnlyList<int> context = prompt;
        for (int b = 0; b < count; b++)
        {
            var r = Block(dataId, b, context, prompt.Length);
            records.Add(r);
            context = r.TeacherOutputIds;
        }

        return records;
    }

    [Fact]
    public void ProgressiveScheduleTargetsEvenlySpacedLevelsPerWindowAndPicksTheNearestState()
    {
        // W = 5 from 0 to 1: targets 0, 0.25, 0.5, 0.75, 1, then again from 0.
        Assert.Equal(new[] { 0, 0.25, 0.5, 0.75, 1, 0, 0.25 }, Enumerable.Range(0, 7).Select(b => ProgressiveNoise.Target(b, 5, 0, 1)));
        Assert.Equal(0.2, ProgressiveNoise.Target(0, 1, 0.2, 0.9));

        // The hand-made states have noise 1, 0.75, 0.5, 0.25, 0: block b's target picks state 4 − b mod 5.
        var records = Prompt("data_0", new[] { 1, 5, 6 }, 7);
        Assert.Equal(new[] { 1, 0.75, 0.5, 0.25, 0 }, records[0].Trajectory.Select(s => ProgressiveNoise.NoiseOf(s, records[0].FixedPoint)));
        Assert.Equal(new[] { 4, 3, 2, 1, 0, 4, 3 }, records.Select(r => ProgressiveNoise.Select(r, ProgressiveNoise.Target(r.BlockIndex, 5, 0, 1))));

        // W = 4 from 0.1 to 0.7: targets 0.1, 0.3, 0.5, 0.7 → nearest 0 (state 4), 0.25 (3), 0.5 (2), 0.75 (1).
        Assert.Equal(new[] { 4, 3, 2, 1, 4 }, records.Take(5).Select(r => ProgressiveNoise.Select(r, ProgressiveNoise.Target(r.BlockIndex, 4, 0.1, 0.7))));

        // A tie (target 0.625 between 0.75 and 0.5) takes the earlier, noisier state, as numpy's argmin.
        Assert.Equal(1, ProgressiveNoise.Select(records[0], 0.625));

        // The packed sequence of blocks 0–2 (W = 5): noisy blocks are states 4, 3, 2.
        var sequence = JacobiForcingSequence.FromChain(records.Take(3).ToArray(), 5, 0, 1, answerOnly: false);
        var noisy = Enumerable.Range(0, 3).Select(j => Enumerable.Range(0, 4).Select(t => (int)sequence.Ids[sequence.NoisyRow(j, t)]).ToArray()).ToArray();
        Assert.Equal(records[0].Trajectory[4], noisy[0]);
        Assert.Equal(records[1].Trajectory[3], noisy[1]);
        Assert.Equal(records[2].Trajectory[2], noisy[2]);
    }

    [Fact]
    public void RandomScheduleDrawsEachBlocksLevelFromTheRangeAtEveryVisit()
    {
        // One-block chains (an answer shorter than the window): the linear schedule gives block 0 the same state at every
        // visit; the random one draws a level from [0.2, 0.8] per visit, so the states of noise 0.75, 0.5 and 0.25 (1, 2,
        // 3) all come up, and never the initial guess (1) or the fixed point (0).
        var record = Prompt("data_0", new[] { 1, 5, 6 }, 1)[0];
        int Noisy(JacobiForcingSequence s) => Array.FindIndex(record.Trajectory.ToArray(), state => state.SequenceEqual(Enumerable.Range(0, 4).Select(t => (int)s.Ids[s.NoisyRow(0, t)])));
        var linear = Enumerable.Range(0, 50).Select(_ => Noisy(JacobiForcingSequence.FromChain(new[] { record }, 4, 0.2, 0.8, answerOnly: false))).Distinct().ToArray();
        Assert.Equal(new[] { 3 }, linear);                                          // target 0.2 → noise 0.25

        var random = new Random(5);
        var drawn = Enumerable.Range(0, 200).Select(_ => Noisy(JacobiForcingSequence.FromChain(new[] { record }, 4, 0.2, 0.8, answerOnly: false, randomNoise: random))).ToArray();
        Assert.Equal(new[] { 1, 2, 3 }, drawn.Distinct().Order());
        Assert.All(new[] { 1, 2, 3 }, state => Assert.InRange(drawn.Count(d => d == state), 30, 120));

        // The same generator state draws the same levels; a range of one level draws that level.
        var again = new Random(5);
        Assert.Equal(drawn, Enumerable.Range(0, 200).Select(_ => Noisy(JacobiForcingSequence.FromChain(new[] { record }, 4, 0.2, 0.8, answerOnly: false, randomNoise: again))));
        Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal(2, Noisy(JacobiForcingSequence.FromChain(new[] { record }, 4, 0.5, 0.5, answerOnly: false, randomNoise: random))));
    }

    [Fact]
    public void ChainsFollowConsecutiveBlocksOfOnePromptAndEndAtWindowBoundaries()
    {
        var a = Prompt("data_0", new[] { 1, 5, 6 }, 5);
        var b = Prompt("data_1", new[] { 1, 7 }, 3);
        var broken = b[2].PromptIds.ToArray();
        broken[3] = 99;                                                                   // block 2's context ≠ block 1's output
        b[2] = b[2] with { PromptIds = broken, TeacherOutputIds = broken.Concat(b[2].FixedPoint).ToArray() };

        // Shuffled input: b2, a3, b0, a0, a4, b1, a1, a2; windows of 3 blocks (a3 starts a window).
        var records = new List<TrajectoryRecord> { b[2], a[3], b[0], a[0], a[4], b[1], a[1], a[2] };
        var chains = JacobiForcingSequence.Chains(records, window: 3);
        string Name(int i) => (records[i].DataId == "data_0" ? "a" : "b") + records[i].BlockIndex;
        var names = chains.Select(c => string.Join(",", c.Select(Name))).ToList();
        Assert.Equal(new[] { "b2", "a3,a4", "b0,b1", "a0,a1,a2" }, names);

        // An epoch is one pass over the chains under Jacobi Forcing, over the records under the CLLM objective.
        var options = new TrainingOptions { Objective = TrainingObjective.JacobiForcing, NoiseWindow = 3, BatchSize = 1 };
        Assert.Equal(4, options.TotalSteps(records));
        Assert.Equal(8, (options with { Objective = TrainingObjective.Consistency }).TotalSteps(records));
    }

    [Fact]
    public void MaskPositionsAndRowsAreTheNoiseConditionedLayout()
    {
        // C = 2, k = 2, n = 2: [c0 c1 | n0 n0 | k0 k0 | n1 n1 | k1 k1].
        var sequence = new JacobiForcingSequence(new[] { 1, 2 }, new[] { new[] { 3, 4 }, new[] { 5, 6 } }, new[] { new[] { 3, 7 }, new[] { 8, 9 } });
        string[] expected =
        {
            "1.........",
            "11........",
            "111.......",
            "1111......",
            "11..1.....",
            "11..11....",
            "1111..1...",
            "1111..11..",
            "11..11..1.",
            "11..11..11",
        };
        Assert.Equal(expected, MaskRows(sequence));
        Assert.Equal(new long[] { 1, 2, 3, 4, 3, 7, 5, 6, 8, 9 }, sequence.Ids);
        Assert.Equal(new long[] { 0, 1, 2, 3, 2, 3, 4, 5, 4, 5 }, sequence.Positions);
        Assert.Equal(new[] { 1, 2, 3, 7, 8, 9 }, sequence.Labels);
        Assert.Equal(new long[] { 0, 1, 4, 5, 8, 9 }, Enumerable.Range(0, 6).Select(sequence.LabelRow));

        // Block 0 agrees on its first token: offset 1 only; block 1 differs at once: offsets 0 and 1.
        Assert.Equal(new (long, long)[] { (3, 5), (6, 8), (7, 9) }, sequence.ConsistencyRows());
    }

    [Fact]
    public void CleanPrefixMaskLetsNoisyBlocksSeeTheEarlierFixedPoints()
    {
        var sequence = new JacobiForcingSequence(new[] { 1, 2 }, new[] { new[] { 3, 4 }, new[] { 5, 6 } }, new[] { new[] { 3, 7 }, new[] { 8, 9 } }, cleanPrefix: true);
        string[] expected =
        {
            "1.........",
            "11........",
            "111.......",
            "1111......",
            "11..1.....",
            "11..11....",
            "11..111...",
            "11..1111..",
            "11..11..1.",
            "11..11..11",
        };
        Assert.Equal(expected, MaskRows(sequence));
        Assert.Equal(new long[] { 0, 1, 2, 3, 2, 3, 4, 5, 4, 5 }, sequence.Positions);
    }

    /// <summary>The mask (T, T) as rows of '1' (may attend) and '.'.</summary>
    private static string[] MaskRows(JacobiForcingSequence sequence)
    {
        int t = sequence.Ids.Length;
        return Enumerable.Range(0, t).Select(r => new string(Enumerable.Range(0, t).Select(c => sequence.Mask[(r * t) + c] ? '1' : '.').ToArray())).ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PackedLogitsEqualSeparateForwardsOfTheNoisyAndCleanPrefixes(bool cleanPrefix)
    {
        using var model = TinyLlama.Create(21);
        var random = new Random(3);
        int[] Tokens(int count) => Enumerable.Range(0, count).Select(_ => random.Next(3, 97)).ToArray();
        var context = Tokens(5);
        var noisy = Enumerable.Range(0, 3).Select(_ => Tokens(4)).ToArray();
        var clean = Enumerable.Range(0, 3).Select(_ => Tokens(4)).ToArray();
        var sequence = new JacobiForcingSequence(context, noisy, clean, cleanPrefix: cleanPrefix);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (ids, positions, mask) = sequence.ToTensors(model.Device);
        var packed = LossFixtures.ToMatrix(model.Forward(ids, positions: positions, mask: mask)[0]);
        // Noisy block j alone: after the earlier noisy blocks (or, with the clean prefix, the earlier fixed points).
        var noisyAlone = Enumerable.Range(0, 3)
            .Select(j => LossFixtures.Logits(model, context.Concat((cleanPrefix ? clean : noisy).Take(j).SelectMany(b => b)).Concat(noisy[j]).ToArray()))
            .ToArray();
        var cleanAlone = LossFixtures.Logits(model, context.Concat(clean.SelectMany(b => b)).ToArray());
        double worst = 0;
        for (int v = 0; v < 97; v++)
        {
            for (int p = 0; p < 5; p++)
            {
                worst = Math.Max(worst, Math.Abs(packed[p, v] - cleanAlone[p, v]));
            }

            for (int j = 0; j < 3; j++)
            {
                for (int t = 0; t < 4; t++)
                {
                    worst = Math.Max(worst, Math.Abs(packed[sequence.NoisyRow(j, t), v] - noisyAlone[j][5 + (4 * j) + t, v]));
                    worst = Math.Max(worst, Math.Abs(packed[sequence.CleanRow(j, t), v] - cleanAlone[5 + (4 * j) + t, v]));
                }
            }
        }

        Assert.True(worst < 1e-5, $"packed and separate logits differ by {worst}");
    }

    [Fact]
    public void ConsistencyIsTheSoftCrossEntropyAndReachesOnlyTheNoisyRows()
    {
        var sequence = new JacobiForcingSequence(new[] { 1, 2, 3 }, new[] { new[] { 4, 5, 6 }, new[] { 7, 8, 9 } }, new[] { new[] { 4, 15, 16 }, new[] { 17, 18, 19 } });
        var objective = new JacobiForcingObjective(new AutoregressiveLoss(0), autoregressiveWeight: 10);
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        var logits = randn(new long[] { sequence.Length, 23 }, generator: generator).requires_grad_();     // (L, V)
        var (consistency, autoregressive) = objective.Losses(logits, sequence);

        // By hand: kept (student, teacher) rows (4, 7), (5, 8) of block 0 and (9, 12), (10, 13), (11, 14) of block 1;
        // mean soft CE over the 5 positions, divided by k = 2.
        var values = LossFixtures.ToMatrix(logits.detach());
        var pairs = new[] { (4, 7), (5, 8), (9, 12), (10, 13), (11, 14) };
        Assert.Equal(pairs.Select(p => ((long)p.Item1, (long)p.Item2)), sequence.ConsistencyRows());
        double sum = 0;
        foreach (var (s, t) in pairs)
        {
            var logS = LossFixtures.LogSoftmax(values, s);
            var logT = LossFixtures.LogSoftmax(values, t);
            sum -= logT.Zip(logS, (a, b) => Math.Exp(a) * b).Sum();
        }

        Assert.Equal(sum / 5 / 2, consistency.to_type(ScalarType.Float64).item<double>(), 1e-5);

        // Consistency gradients: the kept noisy rows only (the clean teacher rows are detached).
        consistency.backward();
        var rowsWithGradient = RowsWithGradient(logits);
        Assert.Equal(pairs.Select(p => p.Item1).ToArray(), rowsWithGradient);

        // AR gradients: the context and the clean rows, never a noisy one.
        logits.grad!.zero_();
        autoregressive.backward();
        Assert.Equal(new[] { 0, 1, 2, 6, 7, 8, 12, 13 }, RowsWithGradient(logits));               // the last clean logit predicts nothing
    }

    private static int[] RowsWithGradient(Tensor logits)
    {
        var grad = LossFixtures.ToMatrix(logits.grad!);
        return Enumerable.Range(0, grad.GetLength(0)).Where(r => Enumerable.Range(0, grad.GetLength(1)).Any(v => grad[r, v] != 0)).ToArray();
    }
}
