using System;

namespace Cllm.Reproduction.Training;

/// <summary>Settings of <see cref="AnswerCllmTrainer"/>: AdamW, linear warm-up then cosine decay to zero, clipping.</summary>
public sealed record AnswerCllmOptions
{
    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Records per step.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Passes over the records.</summary>
    public double Epochs { get; init; } = 1;

    /// <summary>ω: weight of the answer-only AR loss.</summary>
    public double ArWeight { get; init; } = 10;

    /// <summary>Label smoothing ε of the AR loss, in [0, 1); 0 (the default) is plain cross-entropy.</summary>
    public double LabelSmoothing { get; init; }

    /// <summary>Take the AR loss on a record's <c>labels_ids</c> (ground truth) when it has them, instead of context ⊕ y*.</summary>
    public bool UseLabelIds { get; init; }

    /// <summary>Fraction of the steps spent warming up.</summary>
    public double WarmupRatio { get; init; } = 0.03;

    /// <summary>Global gradient-norm clip.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Seed of the data order and the student-state draws.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Optimizer steps for <paramref name="records"/> records.</summary>
    public int TotalSteps(int records) => Math.Max(1, (int)Math.Ceiling(Epochs * records / BatchSize - 1e-9));

    /// <summary>The learning rate at 0-based <paramref name="step"/> of <paramref name="total"/>.</summary>
    public double LearningRateAt(int step, int total)
    {
        int warmup = (int)Math.Ceiling(WarmupRatio * total);
        if (step < warmup)
        {
            return LearningRate * (step + 1) / warmup;
        }

        double progress = total <= warmup ? 1 : (double)(step - warmup) / (total - warmup);
        return LearningRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, progress)));
    }
}
