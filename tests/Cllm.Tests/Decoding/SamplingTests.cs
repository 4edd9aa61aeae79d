using System.Linq;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Decoding;

public class SamplingTests
{
    private static DecodeRequest Request(int seed) => new()
    {
        PromptIds = new[] { 1, 6, 17 },
        Options = new GenerationOptions { MaxNewTokens = 40, Temperature = 0.9, TopK = 20, TopP = 0.95, Seed = seed },
    };

    [Fact]
    public void SameSeedSameTokens()
    {
        using var model = TinyLlama.Create(11);
        foreach (var decoder in new[] { Decoders.Autoregressive(model), Decoders.Jacobi(model, 8), Decoders.Lookahead(model) })
        {
            var a = decoder.DecodeToEnd(Request(42)).OutputIds;
            var b = decoder.DecodeToEnd(Request(42)).OutputIds;
            var c = decoder.DecodeToEnd(Request(43)).OutputIds;
            Assert.Equal(a, b);
            Assert.NotEqual(a, c);
        }
    }

    [Fact]
    public void TopKOneIsGreedy()
    {
        using var model = TinyLlama.Create(12);
        var greedy = Decoders.Autoregressive(model).DecodeToEnd(new DecodeRequest { PromptIds = new[] { 1, 6, 17 }, Options = new GenerationOptions { MaxNewTokens = 30 } }).OutputIds;
        var topK1 = new DecodeRequest { PromptIds = new[] { 1, 6, 17 }, Options = new GenerationOptions { MaxNewTokens = 30, Temperature = 1.0, TopK = 1, Seed = 1 } };
        Assert.Equal(greedy, Decoders.Autoregressive(model).DecodeToEnd(topK1).OutputIds);
        Assert.Equal(greedy, Decoders.Jacobi(model, 8).DecodeToEnd(topK1).OutputIds);
    }

    [Fact]
    public void InvalidSamplingOptionsAreRejected()
    {
        using var model = TinyLlama.Create(12);
        var decoder = Decoders.Autoregressive(model);
        Assert.Throws<System.ArgumentOutOfRangeException>(() => decoder.DecodeToEnd(new DecodeRequest { PromptIds = new[] { 1 }, Options = new GenerationOptions { Temperature = -1 } }));
        Assert.Throws<System.ArgumentOutOfRangeException>(() => decoder.DecodeToEnd(new DecodeRequest { PromptIds = new[] { 1 }, Options = new GenerationOptions { TopP = 0 } }));
        Assert.Throws<System.ArgumentOutOfRangeException>(() => decoder.DecodeToEnd(new DecodeRequest { PromptIds = new[] { 1 }, Options = new GenerationOptions { MaxNewTokens = 0 } }));
        Assert.Throws<System.ArgumentException>(() => decoder.DecodeToEnd(new DecodeRequest { PromptIds = new[] { 1, 500 } }));
    }
}
