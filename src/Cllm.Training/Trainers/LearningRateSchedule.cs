using System;

namespace Cllm.Training;

/// <summary>
/// Linear warm-up then cosine decay, a pure function of the step (so resuming needs no scheduler state). As in
/// Hugging Face's cosine schedule the decay reaches its floor one step after the last; unlike it, whose first step
/// has learning rate 0, step s of the warm-up uses (s + 1)/warmup of the peak.
/// </summary>
internal sealed class LearningRateSchedule
{
    /// <param name="peak">Learning rate after warm-up.</param>
    /// <param name="totalSteps">Optimizer steps in the run.</param>
    /// <param name="warmupSteps">Steps of linear warm-up.</param>
    /// <param name="minRatio">The decay ends at this fraction of <paramref name="peak"/>.</param>
    public LearningRateSchedule(double peak, int totalSteps, int warmupSteps, double minRatio = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(peak);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(minRatio);
        Peak = peak;
        TotalSteps = totalSteps;
        WarmupSteps = Math.Min(warmupSteps, totalSteps);
        MinRatio = minRatio;
    }

    /// <summary>
    /// The schedule of <paramref name="options"/> over <paramref name="totalSteps"/> steps: warm-up of
    /// <see cref="TrainingOptions.WarmupSteps"/>, or of the warm-up ratio of the steps rounded up.
    /// </summary>
    public static LearningRateSchedule From(TrainingOptions options, int totalSteps)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new LearningRateSchedule(options.LearningRate, totalSteps, options.WarmupSteps ?? (int)Math.Ceiling(options.WarmupRatio * totalSteps), options.MinLearningRateRatio);
    }

    /// <summary>Peak learning rate.</summary>
    public double Peak { get; }

    /// <summary>Steps in the run.</summary>
    public int TotalSteps { get; }

    /// <summary>Warm-up steps.</summary>
    public int WarmupSteps { get; }

    /// <summary>Final fraction of the peak.</summary>
    public double MinRatio { get; }

    /// <summary>Learning rate of optimizer step <paramref name="step"/> (0-based).</summary>
    public double At(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step < WarmupSteps)
        {
            return Peak * (step + 1) / WarmupSteps;
        }

        int decaySteps = TotalSteps - WarmupSteps;
        double progress = decaySteps <= 0 ? 1 : Math.Min(1.0, (double)(step - WarmupSteps) / decaySteps);
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * progress));
        return Peak * (MinRatio + (1 - MinRatio) * cosine);
    }
}
