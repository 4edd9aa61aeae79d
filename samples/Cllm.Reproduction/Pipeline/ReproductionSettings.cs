using System.Collections.Generic;
using Cllm.Reproduction.Training;
using Cllm.Training;

namespace Cllm.Reproduction.Pipeline;

/// <summary>
/// Every knob of the pipeline (data → base model → trajectories → CLLM → evaluation), with the defaults the
/// reproduction was measured with and a tiny preset for tests.
/// </summary>
public sealed record ReproductionSettings
{
    /// <summary>Task seed of the data split.</summary>
    public int DataSeed { get; init; } = 1;

    /// <summary>Training tasks.</summary>
    public int TrainTasks { get; init; } = 10_000;

    /// <summary>Dev tasks (model selection: the block size).</summary>
    public int DevTasks { get; init; } = 500;

    /// <summary>Test tasks (the reported table).</summary>
    public int TestTasks { get; init; } = 200;

    /// <summary>Tokenizer vocabulary size.</summary>
    public int VocabSize { get; init; } = 1280;

    /// <summary>Base model shape.</summary>
    public ModelShape Shape { get; init; } = ModelShape.Default;

    /// <summary>Seed of the base model's initial weights.</summary>
    public int ModelSeed { get; init; } = 1;

    /// <summary>Base model pretraining.</summary>
    public PretrainOptions Pretrain { get; init; } = new();

    /// <summary>Dev tasks decoded to report the base model's accuracy after pretraining.</summary>
    public int PretrainDevTasks { get; init; } = 200;

    /// <summary>Training prompts whose Jacobi trajectories are collected.</summary>
    public int CollectPrompts { get; init; } = 4000;

    /// <summary>Jacobi block size n of collection and consistency training.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>Generated-token cap per prompt during collection (two blocks hold every answer).</summary>
    public int CollectMaxNewTokens { get; init; } = 32;

    /// <summary>Seed of the initial guesses and augmentation.</summary>
    public int CollectSeed { get; init; } = 1;

    /// <summary>Randomly correct wrong tokens of early states (reference augmentation).</summary>
    public bool Augment { get; init; }

    /// <summary>Consistency-training learning rate.</summary>
    public double CllmLearningRate { get; init; } = 1e-3;

    /// <summary>Consistency-training batch size.</summary>
    public int CllmBatchSize { get; init; } = 16;

    /// <summary>Passes over the trajectory records.</summary>
    public double CllmEpochs { get; init; } = 5;

    /// <summary>Weight ω of the AR loss.</summary>
    public double CllmArWeight { get; init; } = 10;

    /// <summary>
    /// Take the AR loss of consistency training on the answer only (<c>TrainingOptions.AnswerOnlyAutoregressive</c>)
    /// instead of the whole sequence (as the reference).
    /// </summary>
    public bool CllmAnswerOnlyAr { get; init; } = true;

    /// <summary>
    /// Label smoothing ε of the AR loss; null means none for the answer-only AR loss (what sql-cllm was trained with),
    /// the reference's 0.1 for the whole-sequence one. <see cref="Resolved"/> fills it in.
    /// </summary>
    public double? CllmLabelSmoothing { get; init; }

    /// <summary>
    /// Take the AR loss on ground truth (prompt + gold SQL + EOS, the reference's <c>labels_ids</c>) instead of the
    /// base model's own output.
    /// </summary>
    public bool CllmGoldLabels { get; init; } = true;

    /// <summary>Seed of data order and state draws of consistency training.</summary>
    public int CllmSeed { get; init; } = 1;

    /// <summary>Dev tasks used to pick the Jacobi block size from the forward-cost curve.</summary>
    public int BlockSearchTasks { get; init; } = 100;

    /// <summary>Block sizes tried on dev (16 is always evaluated on test).</summary>
    public IReadOnlyList<int> BlockSizes { get; init; } = new[] { 4, 8, 12, 16, 24, 32 };

    /// <summary>Lookahead decoder spec (W x N x G).</summary>
    public string Lookahead { get; init; } = "lookahead:5x4x5";

    /// <summary>Test tasks decoded by every model × decoder (all of the test split by default).</summary>
    public int EvalTasks { get; init; } = 200;

    /// <summary>libtorch intra-op threads.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>These settings with the trainer's defaults filled in: what a run uses and records.</summary>
    public ReproductionSettings Resolved() =>
        this with { CllmLabelSmoothing = CllmLabelSmoothing ?? (CllmAnswerOnlyAr ? 0 : new TrainingOptions().LabelSmoothing) };

    /// <summary>A configuration that runs every stage in well under a minute (tests).</summary>
    public static ReproductionSettings Tiny { get; } = new()
    {
        TrainTasks = 400,
        DevTasks = 20,
        TestTasks = 20,
        VocabSize = 600,
        Shape = ModelShape.Tiny,
        Pretrain = new PretrainOptions { Steps = 30, BatchSize = 16, WarmupSteps = 5 },
        PretrainDevTasks = 10,
        CollectPrompts = 12,
        CllmBatchSize = 4,
        CllmEpochs = 1,
        BlockSearchTasks = 5,
        BlockSizes = new[] { 8, 16 },
        EvalTasks = 8,
    };
}
