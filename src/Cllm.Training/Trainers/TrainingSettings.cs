using System.Collections.Generic;
using System.Globalization;

namespace Cllm.Training;

/// <summary>
/// The settings of a run that change what a step does (objective and optimizer), stored in <c>trainer_state.json</c> so
/// that a resume with other values is refused instead of silently mixing two runs. Data-order settings (seed, batch,
/// states per record, steps) are checked by <see cref="TrainerState"/> itself.
/// </summary>
internal sealed record TrainingSettings
{
    /// <summary>"cllm" or "jacobi-forcing"; checkpoints written before the choice existed read as "cllm".</summary>
    public string Objective { get; init; } = "cllm";

    public int NoiseWindow { get; init; }

    public double MinNoise { get; init; }

    public double MaxNoise { get; init; }

    public bool CleanPrefix { get; init; }

    public bool RandomNoise { get; init; }

    public string Consistency { get; init; } = string.Empty;

    public string Distance { get; init; } = string.Empty;

    public string Positions { get; init; } = string.Empty;

    public double AutoregressiveWeight { get; init; }

    public double LabelSmoothing { get; init; }

    public bool UseLabelIds { get; init; }

    public bool AnswerOnlyAutoregressive { get; init; }

    public double LearningRate { get; init; }

    public double Beta1 { get; init; }

    public double Beta2 { get; init; }

    public double Epsilon { get; init; }

    public double WeightDecay { get; init; }

    public double WarmupRatio { get; init; }

    public double MinLearningRateRatio { get; init; }

    public int? WarmupSteps { get; init; }

    public int EndPadding { get; init; }

    public double MaxGradNorm { get; init; }

    public static TrainingSettings From(TrainingOptions options) => new()
    {
        Objective = options.Objective == TrainingObjective.JacobiForcing ? "jacobi-forcing" : "cllm",
        NoiseWindow = options.NoiseWindow,
        MinNoise = options.MinNoise,
        MaxNoise = options.MaxNoise,
        CleanPrefix = options.CleanPrefix,
        RandomNoise = options.RandomNoise,
        Consistency = Text(options.Consistency),
        Distance = Text(options.Distance),
        Positions = options.Positions.ToString(),
        AutoregressiveWeight = options.AutoregressiveWeight,
        LabelSmoothing = options.LabelSmoothing,
        UseLabelIds = options.UseLabelIds,
        AnswerOnlyAutoregressive = options.AnswerOnlyAutoregressive,
        LearningRate = options.LearningRate,
        Beta1 = options.Beta1,
        Beta2 = options.Beta2,
        Epsilon = options.Epsilon,
        WeightDecay = options.WeightDecay,
        WarmupRatio = options.WarmupRatio,
        MinLearningRateRatio = options.MinLearningRateRatio,
        MaxGradNorm = options.MaxGradNorm,
        WarmupSteps = options.WarmupSteps,
        EndPadding = options.EndPadding,
    };

    /// <summary>"&lt;flag&gt; is &lt;now&gt;, the checkpoint's run used &lt;saved&gt;" for the first setting that differs, or null.</summary>
    public string? Difference(TrainingSettings now)
    {
        // (flag or option name, saved value, current value); flags where the CLI has one.
        var pairs = new List<(string Name, string Saved, string Now)>
        {
            ("--objective", Objective, now.Objective),
            ("--lr", F(LearningRate), F(now.LearningRate)),
            ("--ar-weight", F(AutoregressiveWeight), F(now.AutoregressiveWeight)),
            ("--consistency", Consistency, now.Consistency),
            ("--distance", Distance, now.Distance),
            ("TrainingOptions.Positions", Positions, now.Positions),
            ("TrainingOptions.LabelSmoothing", F(LabelSmoothing), F(now.LabelSmoothing)),
            ("--gold-labels", UseLabelIds ? "true" : "false", now.UseLabelIds ? "true" : "false"),
            ("--ar-answer-only", AnswerOnlyAutoregressive ? "true" : "false", now.AnswerOnlyAutoregressive ? "true" : "false"),
            ("TrainingOptions.Beta1", F(Beta1), F(now.Beta1)),
            ("TrainingOptions.Beta2", F(Beta2), F(now.Beta2)),
            ("TrainingOptions.Epsilon", F(Epsilon), F(now.Epsilon)),
            ("TrainingOptions.WeightDecay", F(WeightDecay), F(now.WeightDecay)),
            ("TrainingOptions.WarmupRatio", F(WarmupRatio), F(now.WarmupRatio)),
            ("TrainingOptions.MinLearningRateRatio", F(MinLearningRateRatio), F(now.MinLearningRateRatio)),
            ("TrainingOptions.MaxGradNorm", F(MaxGradNorm), F(now.MaxGradNorm)),
            ("TrainingOptions.WarmupSteps", WarmupSteps?.ToString(CultureInfo.InvariantCulture) ?? "-", now.WarmupSteps?.ToString(CultureInfo.InvariantCulture) ?? "-"),
            ("TrainingOptions.EndPadding", EndPadding.ToString(CultureInfo.InvariantCulture), now.EndPadding.ToString(CultureInfo.InvariantCulture)),
        };
        if (Objective == "jacobi-forcing")
        {
            pairs.Add(("--noise-window", NoiseWindow.ToString(CultureInfo.InvariantCulture), now.NoiseWindow.ToString(CultureInfo.InvariantCulture)));
            pairs.Add(("--min-noise", F(MinNoise), F(now.MinNoise)));
            pairs.Add(("--max-noise", F(MaxNoise), F(now.MaxNoise)));
            pairs.Add(("--clean-prefix", CleanPrefix ? "true" : "false", now.CleanPrefix ? "true" : "false"));
            pairs.Add(("--noise-schedule", RandomNoise ? "random" : "linear", now.RandomNoise ? "random" : "linear"));
        }

        foreach (var (name, saved, current) in pairs)
        {
            if (saved != current)
            {
                return $"{name} is {current}, the checkpoint's run used {saved}";
            }
        }

        return null;
    }

    private static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Text(ConsistencyDistance distance) => distance switch
    {
        ConsistencyDistance.ForwardKl => "forward-kl",
        ConsistencyDistance.ReverseKl => "reverse-kl",
        ConsistencyDistance.JensenShannon => "jsd",
        _ => distance.ToString(),
    };

    private static string Text(ConsistencyKind kind) => kind == ConsistencyKind.Local ? "local" : "global";
}
