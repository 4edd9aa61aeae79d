using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Decoding;

public class StopAndBudgetTests
{
    private static readonly int[] Prompt = { 1, 6, 17, 33, 4 };

    private static IEnumerable<IDecoder> All(Cllm.Core.LlamaForCausalLM model) => new[]
    {
        Decoders.Autoregressive(model), Decoders.Jacobi(model, 16), Decoders.Jacobi(model, 5), Decoders.Lookahead(model),
    };

    [Fact]
    public void EosInsideABlockTruncatesExactlyThere()
    {
        using var model = TinyLlama.Create(1);
        var free = Decoders.Autoregressive(model).DecodeToEnd(new DecodeRequest { PromptIds = Prompt, Options = new GenerationOptions { MaxNewTokens = 60 } }).OutputIds;
        int eos = free[23];                                                                    // a token produced mid-block
        int first = free.ToList().IndexOf(eos);
        var request = new DecodeRequest { PromptIds = Prompt, Options = new GenerationOptions { MaxNewTokens = 60, StopTokenIds = new[] { eos } } };
        foreach (var decoder in All(model))
        {
            var result = decoder.DecodeToEnd(request);
            Assert.Equal(FinishReason.Eos, result.Finish);
            Assert.Equal(free.Take(first), result.OutputIds);
        }
    }

    [Fact]
    public void StopSequenceInsideABlockIsCutAndNeverStreamed()
    {
        using var model = TinyLlama.Create(2);
        var free = Decoders.Autoregressive(model).DecodeToEnd(new DecodeRequest { PromptIds = Prompt, Options = new GenerationOptions { MaxNewTokens = 60 } }).OutputIds;
        var stopSeq = new[] { free[20], free[21], free[22] };
        int at = IndexOf(free, stopSeq);
        var request = new DecodeRequest { PromptIds = Prompt, Options = new GenerationOptions { MaxNewTokens = 60, StopSequences = new[] { stopSeq } } };
        foreach (var decoder in All(model))
        {
            var streamed = decoder.Decode(request).SelectMany(s => s.Tokens).ToList();
            var result = decoder.DecodeToEnd(request);
            Assert.Equal(FinishReason.Stop, result.Finish);
            Assert.Equal(free.Take(at), result.OutputIds);
            Assert.Equal(result.OutputIds, streamed);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public void MaxNewTokensSmallerThanTheBlockIsNeverOvershot(int budget)
    {
        using var model = TinyLlama.Create(3);
        var request = new DecodeRequest { PromptIds = Prompt, Options = new GenerationOptions { MaxNewTokens = budget } };
        var ar = Decoders.Autoregressive(model).DecodeToEnd(request);
        foreach (var decoder in All(model))
        {
            var result = decoder.DecodeToEnd(request);
            Assert.Equal(FinishReason.Length, result.Finish);
            Assert.Equal(ar.OutputIds, result.OutputIds);
            Assert.Equal(budget, result.Stats.GeneratedTokens);
        }
    }

    [Fact]
    public void CancellationMidBlockStopsTheRequest()
    {
        using var model = TinyLlama.Create(4);
        using var cts = new CancellationTokenSource();
        var request = new DecodeRequest { PromptIds = Prompt, Options = new GenerationOptions { MaxNewTokens = 200 } };
        int steps = 0;
        Assert.ThrowsAny<System.OperationCanceledException>(() =>
        {
            foreach (var step in Decoders.Jacobi(model, 16).Decode(request, cts.Token))
            {
                if (++steps == 3)
                {
                    cts.Cancel();
                }
            }
        });
        Assert.Equal(3, steps);
    }

    [Fact]
    public void ContextEndFinishesWithLength()
    {
        var config = TinyLlama.Config(context: 24);
        using var model = TinyLlama.Create(5, config);
        var request = new DecodeRequest { PromptIds = Prompt, Options = new GenerationOptions { MaxNewTokens = 100 } };
        var ar = Decoders.Autoregressive(model).DecodeToEnd(request);
        var jacobi = Decoders.Jacobi(model, 16).DecodeToEnd(request);
        Assert.Equal(24 - Prompt.Length, ar.OutputIds.Count);
        Assert.Equal(ar.OutputIds, jacobi.OutputIds);
        Assert.Throws<System.ArgumentException>(() => Decoders.Jacobi(model, 16).DecodeToEnd(new DecodeRequest { PromptIds = new int[24] }));
    }

    private static int IndexOf(IReadOnlyList<int> list, int[] seq)
    {
        for (int i = 0; i + seq.Length <= list.Count; i++)
        {
            if (list.Skip(i).Take(seq.Length).SequenceEqual(seq))
            {
                return i;
            }
        }

        return -1;
    }
}
