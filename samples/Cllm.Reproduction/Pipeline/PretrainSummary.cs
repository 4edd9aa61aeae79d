using System.Collections.Generic;

namespace Cllm.Reproduction.Pipeline;

/// <summary>What the base-model stage reports (base/pretrain.json).</summary>
public sealed record PretrainSummary
{
    /// <summary>Model shape DIMxLAYERSxHEADSxFFN.</summary>
    public required string Shape { get; init; }

    /// <summary>Trainable parameters.</summary>
    public long Parameters { get; init; }

    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; }

    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; init; }

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; }

    /// <summary>Loss on the answer only.</summary>
    public bool AnswerOnly { get; init; }

    /// <summary>Mean loss of the last 20 steps.</summary>
    public double FinalLoss { get; init; }

    /// <summary>Loss every 50 steps.</summary>
    public IReadOnlyList<double> LossCurve { get; init; } = [];

    /// <summary>Dev tasks decoded after training.</summary>
    public int DevTasks { get; init; }

    /// <summary>Dev execution accuracy of greedy AR decoding.</summary>
    public double DevExecution { get; init; }

    /// <summary>Dev exact match.</summary>
    public double DevExact { get; init; }

    /// <summary>Stage wall time, seconds.</summary>
    public double Seconds { get; init; }
}
