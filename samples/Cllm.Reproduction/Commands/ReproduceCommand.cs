using System;
using System.CommandLine;
using System.IO;
using Cllm.Reproduction.Pipeline;
using Cllm.Reproduction.Training;

namespace Cllm.Reproduction.Commands;

/// <summary><c>reproduce</c>: the whole pipeline into one folder, resumable stage by stage.</summary>
internal static class ReproduceCommand
{
    public static Command Create()
    {
        var defaults = new ReproductionSettings();
        var output = new Option<string>("--output") { Description = "Output folder (stages whose outputs exist are skipped)", Required = true };
        var tiny = new Option<bool>("--tiny") { Description = "The tiny configuration of the tests (under a minute)" };
        var steps = new Option<int?>("--pretrain-steps") { Description = $"Base model AdamW steps (default {defaults.Pretrain.Steps})" };
        var collect = new Option<int?>("--collect-prompts") { Description = $"Training prompts to collect trajectories from (default {defaults.CollectPrompts})" };
        var epochs = new Option<double?>("--cllm-epochs") { Description = $"Consistency-training epochs (default {defaults.CllmEpochs})" };
        var lr = new Option<double?>("--cllm-lr") { Description = $"Consistency-training learning rate (default {defaults.CllmLearningRate})" };
        var arWeight = new Option<double?>("--ar-weight") { Description = $"Weight of the AR loss (default {defaults.CllmArWeight})" };
        var smoothing = new Option<double?>("--label-smoothing") { Description = "Label smoothing of the AR loss (default: none for the answer-only AR loss, 0.1 with --whole-sequence-ar)" };
        var ownLabels = new Option<bool>("--own-labels") { Description = "AR loss on the base model's own output (context + fixed point) instead of prompt + gold SQL" };
        var batch = new Option<int?>("--cllm-batch") { Description = $"Consistency-training batch size (default {defaults.CllmBatchSize})" };
        var wholeSequenceAr = new Option<bool>("--whole-sequence-ar") { Description = "Take the AR loss of consistency training on the whole sequence, prompt included (as the reference), instead of the answer only" };
        var augment = new Option<bool>("--augment") { Description = "Randomly correct wrong tokens of early trajectory states" };
        var threads = new Option<int>("--threads") { Description = "libtorch threads", DefaultValueFactory = _ => 1 };
        var command = new Command("reproduce", "Data → base model → Jacobi trajectories → CLLM → evaluation table, in one folder.")
        {
            output, tiny, steps, collect, epochs, lr, arWeight, smoothing, ownLabels, batch, wholeSequenceAr, augment, threads,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var settings = parse.GetValue(tiny) ? ReproductionSettings.Tiny : defaults;
            if (parse.GetValue(steps) is { } s)
            {
                settings = settings with { Pretrain = settings.Pretrain with { Steps = s } };
            }

            settings = settings with
            {
                CollectPrompts = parse.GetValue(collect) ?? settings.CollectPrompts,
                CllmEpochs = parse.GetValue(epochs) ?? settings.CllmEpochs,
                CllmLearningRate = parse.GetValue(lr) ?? settings.CllmLearningRate,
                CllmArWeight = parse.GetValue(arWeight) ?? settings.CllmArWeight,
                CllmLabelSmoothing = parse.GetValue(smoothing) ?? settings.CllmLabelSmoothing,
                CllmGoldLabels = settings.CllmGoldLabels && !parse.GetValue(ownLabels),
                CllmBatchSize = parse.GetValue(batch) ?? settings.CllmBatchSize,
                CllmAnswerOnlyAr = settings.CllmAnswerOnlyAr && !parse.GetValue(wholeSequenceAr),
                Augment = parse.GetValue(augment) || settings.Augment,
                Threads = parse.GetValue(threads),
            };
            ReproductionPipeline pipeline;
            try
            {
                pipeline = new ReproductionPipeline(parse.GetValue(output)!, settings, Console.Out);
                pipeline.RecordSettings();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or System.Text.Json.JsonException)
            {
                Console.Error.WriteLine($"reproduce: {e.Message}");
                return System.Threading.Tasks.Task.FromResult(1);
            }

            pipeline.Run(cancellationToken);
            return System.Threading.Tasks.Task.FromResult(0);
        });
        return command;
    }
}
