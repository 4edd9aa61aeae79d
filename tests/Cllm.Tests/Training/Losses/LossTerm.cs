using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Losses;

/// <summary>
/// One loss over a batch: the scalar to back-propagate and each example's own value. The batch value is the mean over
/// examples of each example's mean over its loss positions, as in the reference (one record per device, gradients
/// averaged across devices); an example without loss positions contributes 0.
/// </summary>
internal sealed class LossTerm
{
    internal LossTerm(Tensor value, float[] perExample, int[] positions)
    {
        Value = value;
        PerExample = perExample;
        Positions = positions;
    }

    /// <summary>() float32 scalar, attached to the graph when computed with gradients; lives in the caller's dispose scope.</summary>
    public Tensor Value { get; }

    /// <summary>Each example's loss (mean over its positions), in batch order.</summary>
    public IReadOnlyList<float> PerExample { get; }

    /// <summary>Each example's number of loss positions.</summary>
    public IReadOnlyList<int> Positions { get; }

    /// <summary>The batch value as a number.</summary>
    public double Item => Value.to_type(ScalarType.Float64).item<double>();

    /// <summary>Host-side sums of the weighted per-position values (K) per owning example.</summary>
    internal static float[] SumPerExample(Tensor weighted, System.Collections.Generic.List<long> owners, int examples)
    {
        var values = weighted.detach().to_type(ScalarType.Float32).cpu().data<float>().ToArray();
        var sums = new double[examples];
        for (int i = 0; i < values.Length; i++)
        {
            sums[owners[i]] += values[i];
        }

        var result = new float[examples];
        for (int i = 0; i < examples; i++)
        {
            result[i] = (float)sums[i];
        }

        return result;
    }

    internal static LossTerm Empty(int examples, Device device)
        => new(zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: device), new float[examples], new int[examples]);
}
