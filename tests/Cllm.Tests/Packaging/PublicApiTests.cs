using System;
using System.Linq;
using Cllm.Core;
using Cllm.Training;

namespace Cllm.Tests.Packaging;

/// <summary>
/// The packed libraries' public surface, type by type (what <c>dotnet run build/CountPublicTypes.cs</c> lists): a type made
/// public or internal changes this list on purpose, in the same commit, instead of widening the package by accident.
/// </summary>
public class PublicApiTests
{
    private static readonly string[] Expected =
    {
        "Cllm.Core.CheckpointException",
        "Cllm.Core.CllmTokenizer",
        "Cllm.Core.KvCache",
        "Cllm.Core.LlamaConfig",
        "Cllm.Core.LlamaForCausalLM",
        "Cllm.Core.PretrainedModel",
        "Cllm.Core.PretrainedModelOptions",
        "Cllm.Core.WeightQuantization",
        "Cllm.AutoregressiveOptions",
        "Cllm.CllmBuilder",
        "Cllm.CllmEngine",
        "Cllm.DecodeRequest",
        "Cllm.DecodeResult",
        "Cllm.DecodeStats",
        "Cllm.DecodeStep",
        "Cllm.DecoderExtensions",
        "Cllm.DecoderOptions",
        "Cllm.Draft",
        "Cllm.FinishReason",
        "Cllm.GenerationOptions",
        "Cllm.IDecodeObserver",
        "Cllm.IDecoder",
        "Cllm.IDraftProposer",
        "Cllm.JacobiInitialGuess",
        "Cllm.JacobiOptions",
        "Cllm.LookaheadOptions",
        "Cllm.MultiblockOptions",
        "Cllm.VerifyOutcome",
        "Microsoft.Extensions.DependencyInjection.CllmServiceCollectionExtensions",
        "Cllm.Training.CausalLmSequence",
        "Cllm.Training.CausalLmTrainer",
        "Cllm.Training.CollectionSummary",
        "Cllm.Training.ConsistencyDistance",
        "Cllm.Training.ConsistencyKind",
        "Cllm.Training.ConsistencyPositions",
        "Cllm.Training.ConsistencyTrainer",
        "Cllm.Training.ITrajectorySource",
        "Cllm.Training.JacobiTrajectoryCollector",
        "Cllm.Training.JsonlTrajectorySource",
        "Cllm.Training.LossComponents",
        "Cllm.Training.PromptTrajectories",
        "Cllm.Training.TrainingObjective",
        "Cllm.Training.TrainingOptions",
        "Cllm.Training.TrainingProgress",
        "Cllm.Training.TrainingResult",
        "Cllm.Training.TrajectoryCollectionOptions",
        "Cllm.Training.TrajectoryRecord",
    };

    [Fact]
    public void ThePublicTypesAreTheListedOnes()
    {
        var exported = new[] { typeof(LlamaForCausalLM).Assembly, typeof(CllmEngine).Assembly, typeof(ConsistencyTrainer).Assembly }
            .SelectMany(a => a.GetExportedTypes())
            .Select(t => t.FullName!)
            .OrderBy(n => n, StringComparer.Ordinal)
            .ToArray();
        var expected = Expected.OrderBy(n => n, StringComparer.Ordinal).ToArray();
        Assert.True(expected.SequenceEqual(exported),
            $"made public: {string.Join(", ", exported.Except(expected))}; no longer public: {string.Join(", ", expected.Except(exported))}");
    }

    [Fact]
    public void DecoderOptionsIsClosedAndItsRecordsArePublic()
    {
        var decoders = typeof(DecoderOptions).Assembly.GetExportedTypes().Where(t => t.IsSubclassOf(typeof(DecoderOptions))).Select(t => t.Name).OrderBy(n => n, StringComparer.Ordinal);
        Assert.Equal(new[] { "AutoregressiveOptions", "JacobiOptions", "LookaheadOptions", "MultiblockOptions" }, decoders);
        Assert.DoesNotContain(typeof(DecoderOptions).GetConstructors(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic),
            c => c.GetParameters().Length == 0 && (c.IsPublic || c.IsFamily));              // the parameterless one is private protected
    }
}
