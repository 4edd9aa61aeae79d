using System.Linq;
using Cllm.Tests.TestKit;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Modeling;

public class KvCacheTests
{
    private static readonly long[] Tokens = { 1, 9, 23, 4, 77, 15, 60, 3, 41, 8, 19, 52 };

    [Fact]
    public void CachedBlocksEqualOneFullForward()
    {
        using var model = TinyLlama.Create(7);
        using var scope = NewDisposeScope();
        var full = model.Forward(tensor(Tokens).view(1, -1));                                  // (1, 12, V)
        using var cache = model.CreateCache(32);
        var a = model.Forward(tensor(Tokens[..5]).view(1, -1), cache);
        var b = model.Forward(tensor(Tokens[5..6]).view(1, -1), cache);
        var c = model.Forward(tensor(Tokens[6..]).view(1, -1), cache);
        var pieces = cat(new[] { a, b, c }, 1);
        Assert.Equal(12, cache.Length);
        Assert.True((pieces - full).abs().max().item<float>() < 1e-4f);
    }

    [Fact]
    public void CachedGreedyDecodingEqualsFullReforwardDecoding()
    {
        using var model = TinyLlama.Create(5);
        var request = new DecodeRequest { PromptIds = new[] { 1, 9, 23, 4 }, Options = new GenerationOptions { MaxNewTokens = 40 } };
        var cached = Decoders.Autoregressive(model).DecodeToEnd(request).OutputIds;
        var sequence = request.PromptIds.Select(i => (long)i).ToList();
        using (no_grad())
        {
            for (int step = 0; step < 40; step++)
            {
                using var scope = NewDisposeScope();
                var logits = model.Forward(tensor(sequence.ToArray()).view(1, -1));                   // no cache: the whole sequence again
                sequence.Add(logits[0, -1].argmax().item<long>());
            }
        }

        Assert.Equal(sequence.Skip(4).Select(i => (int)i), cached);
    }

    [Fact]
    public void CacheCutBackAfterRejectedDraftEqualsFreshForward()
    {
        using var model = TinyLlama.Create(8);
        using var scope = NewDisposeScope();
        using var cache = model.CreateCache(64);
        model.Forward(tensor(Tokens[..6]).view(1, -1), cache);
        model.Forward(tensor(new long[] { 5, 6, 7, 8, 9 }).view(1, -1), cache);               // a draft, then rejected
        cache.TruncateTo(6);
        var afterCut = model.Forward(tensor(Tokens[6..]).view(1, -1), cache);
        var fresh = model.Forward(tensor(Tokens).view(1, -1)).narrow(1, 6, 6);
        Assert.True((afterCut - fresh).abs().max().item<float>() < 1e-4f);
    }

    [Fact]
    public void KeepSlotsCompactsAnAcceptedBranch()
    {
        using var model = TinyLlama.Create(9);
        using var scope = NewDisposeScope();
        using var cache = model.CreateCache(64);
        model.Forward(tensor(Tokens[..6]).view(1, -1), cache);
        // Tree: pending 60 with two branches [11, 12] and [15, 3]; positions 6, 7, 8, 7, 8.
        var ids = tensor(new long[] { 60, 11, 12, 3, 41 }).view(1, -1);
        var pos = tensor(new long[] { 6, 7, 8, 7, 8 });
        var local = new bool[,]
        {
            { true, false, false, false, false },
            { true, true, false, false, false },
            { true, true, true, false, false },
            { true, false, false, true, false },
            { true, false, false, true, true },
        };
        var mask = cat(new[] { ones(5, 6, dtype: ScalarType.Bool), tensor(local.Cast<bool>().ToArray()).view(5, 5) }, 1);
        var tree = model.Forward(ids, cache, pos, mask);
        cache.KeepSlots(6, new[] { 0, 3, 4 });                                                  // pending + second branch
        Assert.Equal(9, cache.Length);
        var next = model.Forward(tensor(new long[] { 8 }).view(1, -1), cache);
        var fresh = model.Forward(tensor(new long[] { 1, 9, 23, 4, 77, 15, 60, 3, 41, 8 }).view(1, -1));
        Assert.True((next[0, 0] - fresh[0, 9]).abs().max().item<float>() < 1e-4f);
        Assert.True((tree[0, 4] - fresh[0, 8]).abs().max().item<float>() < 1e-4f);          // branch tokens saw a proper causal history
    }

    [Fact]
    public void OverfullCacheIsAClearError()
    {
        using var model = TinyLlama.Create(7);
        using var cache = model.CreateCache(4);
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<System.InvalidOperationException>(() => model.Forward(tensor(Tokens[..5]).view(1, -1), cache));
        Assert.Contains("capacity of 4", ex.Message);
    }
}
