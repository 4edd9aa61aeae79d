using System.Collections.Generic;

namespace Cllm.Reproduction.Pipeline;

/// <summary>What the consistency-training stage reports (cllm/training.json).</summary>
public sealed record CllmTrainingReport
{
    /// <summary>Trajectory records trained on.</summary>
    public int Records { get; init; }

    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; }

    /// <summary>Records per step.</summary>
    public int BatchSize { get; init; }

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; }

    /// <summary>ω, the AR weight.</summary>
    public double ArWeight { get; init; }

    /// <summary>AR loss on the answer only rather than the whole sequence.</summary>
    public bool AnswerOnlyAr { get; init; }

    /// <summary>Consistency loss, mean of the first 20 steps.</summary>
    public double FirstConsistency { get; init; }

    /// <summary>Consistency loss, mean of the last 20 steps.</summary>
    public double LastConsistency { get; init; }

    /// <summary>AR loss, mean of the first 20 steps.</summary>
    public double FirstAutoregressive { get; init; }

    /// <summary>AR loss, mean of the last 20 steps.</summary>
    public double LastAutoregressive { get; init; }

    /// <summary>(consistency, AR) every 25 steps.</summary>
    public IReadOnlyList<double[]> LossCurve { get; init; } = [];

    /// <summary>Stage wall time, seconds.</summary>
    public double Seconds { get; init; }
}
