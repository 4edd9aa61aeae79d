using System.Linq;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Decoding;

/// <summary>Greedy decoding of a real pretrained model against an independent implementation's ids.</summary>
public class Stories260KDecodingTests
{
    [SkippableFact]
    public void AutoregressiveReproducesTheReferenceGreedyIds()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).Build();
        foreach (var reference in ReferenceGreedy.Load(ShippedModels.Stories260K))
        {
            var response = engine.Generate(reference.Prompt, new GenerationOptions { MaxNewTokens = reference.GreedyIds.Length });
            Assert.Equal(reference.PromptIds, response.PromptIds);
            Assert.Equal(reference.GreedyIds, response.OutputIds);
            Assert.Equal(FinishReason.Length, response.Finish);
            Assert.Equal(reference.Text, engine.Tokenizer.Decode(reference.PromptIds.Concat(response.OutputIds).ToArray()));
        }
    }

    [SkippableTheory]
    [InlineData("jacobi:1")]
    [InlineData("jacobi:2")]
    [InlineData("jacobi:5")]
    [InlineData("jacobi:16")]
    [InlineData("jacobi:64")]
    [InlineData("lookahead")]
    [InlineData("lookahead:7x5x7")]
    public void ParallelDecodersReproduceTheReferenceGreedyIds(string decoder)
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseDecoder(DecoderOptions.Parse(decoder)).Build();
        foreach (var reference in ReferenceGreedy.Load(ShippedModels.Stories260K))
        {
            var response = engine.Generate(reference.Prompt, new GenerationOptions { MaxNewTokens = reference.GreedyIds.Length });
            Assert.Equal(reference.GreedyIds, response.OutputIds);
            Assert.True(response.Stats.ForwardPasses <= reference.GreedyIds.Length);
            Assert.True(response.Stats.MinLogitMargin > 1e-4, $"near-tie: margin {response.Stats.MinLogitMargin}");
        }
    }
}
