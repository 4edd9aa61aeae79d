using System;
using System.Collections.Generic;

namespace Cllm.Training;

/// <summary>
/// Settings of a training run (<see cref="ConsistencyTrainer"/>; <see cref="CausalLmTrainer"/> uses all but the consistency settings). Defaults follow the reference recipe (AdamW β = (0.9, 0.999), ε = 1e-8,
/// no weight decay, cosine schedule with 3% warm-up, clipping at 1.0, global consistency with forward KL + 10 × AR
/// with label smoothing 0.1, one state per record) except the learning rate and batch size (the reference's 2e-5 and
/// 4 × 1 suit 7B models on GPUs). <see cref="SmallModel"/> holds the settings measured to work for small models.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>
    /// Settings measured on stories260K (260K parameters, CPU): learning rate 6e-3, AR weight 1, 4 student states per
    /// record, batches of 8 records, otherwise the defaults. 1,500 steps over 16.6K blocks (n = 16) raised greedy Jacobi
    /// tokens per forward from 1.04 to about 2.35 with the output still equal to the model's own AR output; the
    /// reference's AR weight 10 reached 1.23 in the same steps. A higher AR weight (3) keeps the text closer to the base
    /// model at some cost in speed (1.87).
    /// </summary>
    public static TrainingOptions SmallModel => new()
    {
        LearningRate = 6e-3,
        AutoregressiveWeight = 1,
        StatesPerRecord = 4,
        BatchSize = 8,
    };

    /// <summary>
    /// The objective: the CLLM consistency objective (the default) or Jacobi Forcing, which reads consecutive blocks of a
    /// prompt together and uses <see cref="NoiseWindow"/>, <see cref="MinNoise"/> and <see cref="MaxNoise"/> (its
    /// consistency term is the reference's soft cross-entropy, so <see cref="Consistency"/>, <see cref="Distance"/>,
    /// <see cref="Positions"/>, <see cref="StatesPerRecord"/> and <see cref="UseLabelIds"/> are not used by it).
    /// </summary>
    public TrainingObjective Objective { get; init; } = TrainingObjective.Consistency;

    /// <summary>
    /// Jacobi Forcing: the window W of the progressive noise schedule. Block b of a prompt targets the noise level
    /// (b mod W) of W evenly spaced levels from <see cref="MinNoise"/> to <see cref="MaxNoise"/>, and one packed
    /// sequence holds at most the W consecutive blocks of one window (its blocks index ⌊b / W⌋ the same).
    /// </summary>
    public int NoiseWindow { get; init; } = 8;

    /// <summary>Jacobi Forcing: the lowest target noise (unconverged fraction of a block state), reference 0.</summary>
    public double MinNoise { get; init; }

    /// <summary>Jacobi Forcing: the highest target noise, reference 1.</summary>
    public double MaxNoise { get; init; } = 1;

    /// <summary>
    /// Jacobi Forcing: draw each block's target noise uniformly from [<see cref="MinNoise"/>, <see cref="MaxNoise"/>]
    /// anew at every visit (the paper's "random" schedule) instead of the progressive level of its place in the window.
    /// A prompt whose answer fills fewer blocks than the window then still trains at every noise level over the epochs.
    /// The draws are a function of the seed and the example slot, so a resumed run draws the same.
    /// </summary>
    public bool RandomNoise { get; init; }

    /// <summary>
    /// Jacobi Forcing: a noisy block sees the earlier blocks' fixed points instead of their noisy states (the mask of the
    /// reference's single-block trainer; the default is its multiblock trainer's noisy prefix). The single-block Jacobi
    /// decoder always iterates a block after a clean context.
    /// </summary>
    public bool CleanPrefix { get; init; }

    /// <summary>Global (default) or local consistency.</summary>
    public ConsistencyKind Consistency { get; init; } = ConsistencyKind.Global;

    /// <summary>Distance between teacher and student distributions; forward KL by default.</summary>
    public ConsistencyDistance Distance { get; init; } = ConsistencyDistance.ForwardKl;

    /// <summary>Which block logits the consistency loss covers; the reference rule by default.</summary>
    public ConsistencyPositions Positions { get; init; } = ConsistencyPositions.FromFirstMismatch;

    /// <summary>ω, the weight of the autoregressive loss (reference 10; 0 disables it).</summary>
    public double AutoregressiveWeight { get; init; } = CllmObjective.ReferenceAutoregressiveWeight;

    /// <summary>Label smoothing ε of the autoregressive loss (reference 0.1).</summary>
    public double LabelSmoothing { get; init; } = AutoregressiveLoss.ReferenceLabelSmoothing;

    /// <summary>
    /// Student states drawn (without repetition) from each record in a batch slot; each is one example of the batch, so a
    /// micro-batch holds up to <see cref="BatchSize"/> × this many examples. The states of a record are packed into one
    /// sequence, so each extra state costs a block rather than a whole sequence. 1 = the reference.
    /// </summary>
    public int StatesPerRecord { get; init; } = 1;

    /// <summary>
    /// Gold labels: take the autoregressive loss on a record's <c>labels_ids</c> (a gold answer given in the data) when it
    /// has them, instead of the teacher's output (context ⊕ fixed point).
    /// </summary>
    public bool UseLabelIds { get; init; }

    /// <summary>
    /// Take the autoregressive loss on the tokens after the record's prompt (<c>prompt_length</c>) only, instead of the
    /// whole sequence as the reference does. For a model trained on answers only (the SQL reproduction), modelling the
    /// prompt would spend the AR gradient on learning to write questions.
    /// </summary>
    public bool AnswerOnlyAutoregressive { get; init; }

    /// <summary>
    /// Causal-LM training only (<see cref="CausalLmTrainer"/>): continue every sequence with its last token (EOS) up to
    /// the micro-batch's longest plus this many positions and train those positions too, so the model learns to follow
    /// EOS with EOS (a Jacobi block holding an answer's end then has a trivial fixed point). 0: padding is never a target.
    /// </summary>
    public int EndPadding { get; init; }

    /// <summary>Peak learning rate (after warm-up).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>AdamW β1.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW β2.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>AdamW ε.</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>AdamW decoupled weight decay (reference 0; note TorchSharp's default is also 0, PyTorch's is 0.01).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Fraction of the steps spent warming the learning rate up linearly (reference 0.03).</summary>
    public double WarmupRatio { get; init; } = 0.03;

    /// <summary>Steps of linear warm-up; overrides <see cref="WarmupRatio"/> when set.</summary>
    public int? WarmupSteps { get; init; }

    /// <summary>The cosine schedule decays to this fraction of the peak learning rate (0 = to zero, as the reference).</summary>
    public double MinLearningRateRatio { get; init; }

    /// <summary>Clip the global gradient norm to this value (reference 1.0); 0 disables clipping.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Records per micro-batch (right-padded to the longest).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Micro-batches whose gradients are accumulated into one optimizer step.</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Passes over the records; the number of steps unless <see cref="MaxSteps"/> is set.</summary>
    public double Epochs { get; init; } = 1;

    /// <summary>Optimizer steps to run; overrides <see cref="Epochs"/> when set.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Makes the run repeatable: data order, state sampling and torch's generator derive from it.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Where the final model (Hugging Face files, in the folder itself) and the <c>checkpoint-&lt;step&gt;</c> folders go;
    /// null trains without writing anything.
    /// </summary>
    public string? OutputDirectory { get; init; }

    /// <summary>
    /// A model folder to copy the tokenizer and generation files from into every checkpoint (usually the base model's);
    /// null copies nothing and writes generation_config.json from the config.
    /// </summary>
    public string? TokenizerSource { get; init; }

    /// <summary>Write a checkpoint every this many optimizer steps (0 = only at the end).</summary>
    public int SaveEvery { get; init; } = 100;

    /// <summary>Most checkpoints kept in <see cref="OutputDirectory"/>; older ones are deleted (0 keeps all).</summary>
    public int KeepCheckpoints { get; init; } = 2;

    /// <summary>
    /// Continue from the newest checkpoint in <see cref="OutputDirectory"/>, if there is one. Without it, an output folder
    /// that already holds checkpoints is refused rather than overwritten.
    /// </summary>
    public bool Resume { get; init; }

    /// <summary>Log every this many steps (progress is reported every step).</summary>
    public int LogEvery { get; init; } = 10;

    /// <summary>Throws <see cref="ArgumentException"/> (or <see cref="ArgumentOutOfRangeException"/>) naming the first bad setting.</summary>
    public void Validate()
    {
        Defined(Objective, nameof(Objective));
        Defined(Consistency, nameof(Consistency));
        Defined(Distance, nameof(Distance));
        Defined(Positions, nameof(Positions));
        Check(StatesPerRecord >= 1, nameof(StatesPerRecord), StatesPerRecord, "must be at least 1");
        Check(AutoregressiveWeight >= 0 && double.IsFinite(AutoregressiveWeight), nameof(AutoregressiveWeight), AutoregressiveWeight, "must be finite and ≥ 0");
        Check(LabelSmoothing >= 0 && LabelSmoothing < 1, nameof(LabelSmoothing), LabelSmoothing, "must be in [0, 1)");
        Check(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "must be finite and > 0");
        Check(Beta1 >= 0 && Beta1 < 1, nameof(Beta1), Beta1, "must be in [0, 1)");
        Check(Beta2 >= 0 && Beta2 < 1, nameof(Beta2), Beta2, "must be in [0, 1)");
        Check(Epsilon > 0 && double.IsFinite(Epsilon), nameof(Epsilon), Epsilon, "must be finite and > 0");
        Check(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), WeightDecay, "must be finite and ≥ 0");
        Check(WarmupRatio >= 0 && WarmupRatio < 1, nameof(WarmupRatio), WarmupRatio, "must be in [0, 1)");
        Check(WarmupSteps is null or >= 0, nameof(WarmupSteps), WarmupSteps, "must be at least 0 when set");
        Check(EndPadding >= 0, nameof(EndPadding), EndPadding, "must be at least 0");
        Check(MinLearningRateRatio >= 0 && MinLearningRateRatio <= 1, nameof(MinLearningRateRatio), MinLearningRateRatio, "must be in [0, 1]");
        Check(MaxGradNorm >= 0 && double.IsFinite(MaxGradNorm), nameof(MaxGradNorm), MaxGradNorm, "must be finite and ≥ 0 (0 disables clipping)");
        Check(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1");
        Check(GradientAccumulation >= 1, nameof(GradientAccumulation), GradientAccumulation, "must be at least 1");
        Check(Epochs > 0 && double.IsFinite(Epochs), nameof(Epochs), Epochs, "must be finite and > 0");
        Check(MaxSteps is null or >= 1, nameof(MaxSteps), MaxSteps, "must be at least 1 when set");
        Check(SaveEvery >= 0, nameof(SaveEvery), SaveEvery, "must be at least 0 (0 saves only at the end)");
        Check(KeepCheckpoints >= 0, nameof(KeepCheckpoints), KeepCheckpoints, "must be at least 0 (0 keeps all)");
        Check(LogEvery >= 1, nameof(LogEvery), LogEvery, "must be at least 1");
        if (Objective == TrainingObjective.JacobiForcing)
        {
            Check(NoiseWindow >= 1, nameof(NoiseWindow), NoiseWindow, "must be at least 1");
            Check(MinNoise >= 0 && MinNoise <= 1, nameof(MinNoise), MinNoise, "must be in [0, 1]");
            Check(MaxNoise >= MinNoise && MaxNoise <= 1, nameof(MaxNoise), MaxNoise, "must be in [MinNoise, 1]");
            if (Consistency != ConsistencyKind.Global || Distance != ConsistencyDistance.ForwardKl || Positions != ConsistencyPositions.FromFirstMismatch || UseLabelIds)
            {
                throw new ArgumentException("Jacobi Forcing uses its own consistency term (soft cross-entropy against the fixed points) and the teacher's output as labels: leave Consistency, Distance, Positions and UseLabelIds (--consistency, --distance, --gold-labels) at their defaults.", nameof(Objective));
            }
        }

        if (Resume && OutputDirectory is null)
        {
            throw new ArgumentException("Resume needs an OutputDirectory to find checkpoints in.", nameof(Resume));
        }

        if (OutputDirectory is not null && string.IsNullOrWhiteSpace(OutputDirectory))
        {
            throw new ArgumentException("OutputDirectory must not be blank.", nameof(OutputDirectory));
        }
    }

    /// <summary>The objective these options describe.</summary>
    internal CllmObjective CreateObjective()
    {
        return new CllmObjective(new ConsistencyLoss(Consistency, Distance, Positions), new AutoregressiveLoss(LabelSmoothing), AutoregressiveWeight);
    }

    /// <summary>Optimizer steps for <paramref name="records"/> records: <see cref="MaxSteps"/>, or ⌈epochs · records / (batch · accumulation)⌉.</summary>
    public int TotalSteps(int records)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(records, 1);
        if (MaxSteps is { } steps)
        {
            return steps;
        }

        double perStep = (double)BatchSize * GradientAccumulation;
        return Math.Max(1, checked((int)Math.Ceiling(Epochs * records / perStep - 1e-9)));
    }

    /// <summary>
    /// Optimizer steps for training on <paramref name="records"/>: an example is a record under the CLLM objective and a
    /// chain of up to <see cref="NoiseWindow"/> consecutive blocks of one prompt under Jacobi Forcing.
    /// </summary>
    public int TotalSteps(IReadOnlyList<TrajectoryRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        return TotalSteps(Objective == TrainingObjective.JacobiForcing ? JacobiForcingSequence.Chains(records, NoiseWindow).Count : records.Count);
    }

    private static void Check<T>(bool ok, string name, T value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} {rule}.");
        }
    }

    private static void Defined<TEnum>(TEnum value, string name) where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} has an unknown value.");
        }
    }
}
