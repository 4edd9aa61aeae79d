using System;
using System.IO;
using System.Linq;
using Cllm.Core;
using Cllm.Tests.TestKit;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Modeling;

/// <summary>
/// The model's one forward: without autograd its modules run in place in a workspace (fused q/k/v and gate/up
/// parameters, rotary and SwiGLU in place), with autograd out of place; both read the same parameters and agree.
/// </summary>
public sealed class InPlaceForwardTests : IDisposable
{
    private static readonly long[] Tokens = { 1, 9, 23, 4, 77, 15, 60, 3, 41, 8, 19, 52 };

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    public static TheoryData<string> Configs => new() { "gqa", "tied", "qwen2-bias", "llama-all-bias" };

    private static LlamaForCausalLM Model(string kind) => TinyLlama.Create(11, kind switch
    {
        "tied" => TinyLlama.Config(tied: true),
        "qwen2-bias" => TinyLlama.Config() with { ModelType = "qwen2", AttentionBias = true },
        "llama-all-bias" => TinyLlama.Config() with { AttentionBias = true, MlpBias = true },
        _ => TinyLlama.Config(),
    });

    /// <summary>Runs <paramref name="run"/> with autograd (out of place) and under inference mode (in place), in eval mode.</summary>
    private static (Tensor Autograd, Tensor InPlace) Both(Func<Tensor> run)
    {
        Tensor autograd;
        using (enable_grad())
        {
            autograd = run().detach();
        }

        using var inference = inference_mode();
        return (autograd, run());
    }

    private static float MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Theory]
    [MemberData(nameof(Configs))]
    public void Full_cached_and_last_only_forwards_agree_with_the_autograd_forward(string kind)
    {
        using var model = Model(kind);
        using var scope = NewDisposeScope();
        var (full, inPlaceFull) = Both(() => model.Forward(tensor(Tokens).view(1, -1)));
        Assert.Equal(full.shape, inPlaceFull.shape);
        Assert.True(MaxDiff(full, inPlaceFull) < 1e-4f, $"full forward differs by {MaxDiff(full, inPlaceFull)}");

        // Prefill 5, one token, then a block of 6, through a cache: T = 1 and T > 1 with a sliced causal mask.
        var (pieces, inPlacePieces) = Both(() =>
        {
            using var cache = model.CreateCache(32);
            var a = model.Forward(tensor(Tokens[..5]).view(1, -1), cache, lastPositions: 1);
            var b = model.Forward(tensor(Tokens[5..6]).view(1, -1), cache);
            var c = model.Forward(tensor(Tokens[6..]).view(1, -1), cache);
            Assert.Equal(12, cache.Length);
            return cat(new[] { a, b, c }, 1);                                                   // (1, 8, V)
        });
        Assert.True(MaxDiff(pieces, inPlacePieces) < 1e-4f, $"cached forwards differ by {MaxDiff(pieces, inPlacePieces)}");
        Assert.True(MaxDiff(inPlacePieces, full.narrow(1, 4, 8)) < 1e-4f);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(12)]
    public void Last_positions_are_the_last_rows_of_the_full_forward(int last)
    {
        using var model = Model("gqa");
        using var scope = NewDisposeScope();
        var (full, inPlaceFull) = Both(() => model.Forward(tensor(Tokens).view(1, -1)));
        var (autograd, inPlace) = Both(() =>
        {
            using var cache = model.CreateCache(16);
            var logits = model.Forward(tensor(Tokens).view(1, -1), cache, lastPositions: last);
            Assert.Equal(Tokens.Length, cache.Length);                                           // every position is cached
            return logits;
        });
        Assert.Equal(new long[] { 1, last, model.Config.VocabSize }, inPlace.shape);
        Assert.True(MaxDiff(full.narrow(1, Tokens.Length - last, last), autograd) < 1e-5f, $"autograd differs by {MaxDiff(full.narrow(1, Tokens.Length - last, last), autograd)}");  // fewer rows may take another matmul kernel
        Assert.True(MaxDiff(inPlaceFull.narrow(1, Tokens.Length - last, last), inPlace) < 1e-5f, $"in place differs by {MaxDiff(inPlaceFull.narrow(1, Tokens.Length - last, last), inPlace)}");
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(tensor(Tokens).view(1, -1), lastPositions: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(tensor(Tokens).view(1, -1), lastPositions: Tokens.Length + 1));
    }

    [Fact]
    public void Tree_mask_and_explicit_positions_agree_with_the_autograd_forward()
    {
        using var model = Model("gqa");
        using var scope = NewDisposeScope();
        // After 4 cached tokens: a pending token and two branches of depth 1 and 2 (positions 4, 5, 5, 6).
        var mask = tensor(new[]
        {
            true, true, true, true, true, false, false, false,
            true, true, true, true, true, true, false, false,
            true, true, true, true, true, false, true, false,
            true, true, true, true, true, false, true, true,
        }).view(4, 8);
        var positions = tensor(new long[] { 4, 5, 5, 6 });
        var (autograd, inPlace) = Both(() =>
        {
            using var cache = model.CreateCache(16);
            model.Forward(tensor(Tokens[..4]).view(1, -1), cache);
            return model.Forward(tensor(Tokens[4..8]).view(1, -1), cache, positions, mask);
        });
        Assert.True(MaxDiff(autograd, inPlace) < 1e-4f, $"tree forward differs by {MaxDiff(autograd, inPlace)}");
    }

    [Fact]
    public void A_weight_changed_in_place_in_eval_mode_reaches_the_next_forward()
    {
        using var model = Model("gqa");
        using var scope = NewDisposeScope();
        var ids = tensor(Tokens).view(1, -1);
        Tensor Forward()
        {
            using var inference = inference_mode();
            return model.Forward(ids);
        }

        var before = Forward();
        using (no_grad())
        {
            using var two = 2.0.ToScalar();
            model.state_dict()["model.embed_tokens.weight"].mul_(two);
        }

        var afterEmbedding = Forward();
        Assert.True(MaxDiff(before, afterEmbedding) > 1e-3f, "the forward still used the old embedding");

        // A Hugging Face tensor that is part of a fused parameter: the state dict's view writes into the fused q/k/v weight.
        using (no_grad())
        {
            model.state_dict()["model.layers.0.self_attn.k_proj.weight"].zero_();
            model.state_dict()["model.layers.1.mlp.up_proj.weight"].zero_();
        }

        var afterParts = Forward();
        Assert.True(MaxDiff(afterEmbedding, afterParts) > 1e-3f, "the forward still used the old k_proj/up_proj weights");
        var (autograd, inPlace) = Both(() => model.Forward(ids));
        Assert.Equal(0f, MaxDiff(inPlace, afterParts));
        Assert.True(MaxDiff(autograd, inPlace) < 1e-4f);
    }

    [Fact]
    public void Decode_steps_reuse_their_workspace_in_and_out_of_inference_mode()
    {
        using var model = Model("gqa");
        using var scope = NewDisposeScope();
        Tensor Steps()
        {
            using var cache = model.CreateCache(32);
            var outputs = new System.Collections.Generic.List<Tensor>();
            using (inference_mode())
            {
                model.Forward(tensor(Tokens[..4]).view(1, -1), cache, lastPositions: 1);
                outputs.Add(model.Forward(tensor(Tokens[4..5]).view(1, -1), cache));              // the step workspace is made under inference mode
            }

            using (no_grad())
            {
                for (int i = 5; i < 9; i++)
                {
                    outputs.Add(model.Forward(tensor(Tokens[i..(i + 1)]).view(1, -1), cache));  // T = 1 steps outside inference mode
                }
            }

            return cat(outputs.ToArray(), 1);                                                   // (1, 5, V)
        }

        Tensor autograd;
        using (enable_grad())
        {
            using var cache = model.CreateCache(32);
            model.Forward(tensor(Tokens[..4]).view(1, -1), cache, lastPositions: 1);
            autograd = cat(Enumerable.Range(4, 5).Select(i => model.Forward(tensor(Tokens[i..(i + 1)]).view(1, -1), cache)).ToArray(), 1).detach();
        }

        var inPlace = Steps();
        var again = Steps();
        Assert.True(MaxDiff(autograd, inPlace) < 1e-4f, $"decode steps differ by {MaxDiff(autograd, inPlace)}");
        Assert.Equal(0f, MaxDiff(inPlace, again));
    }

    [Theory]
    [InlineData("gqa")]
    [InlineData("llama-all-bias")]
    public void Save_and_load_round_trip_the_hugging_face_tensors_bit_exactly(string kind)
    {
        using var model = Model(kind);
        using var scope = NewDisposeScope();
        var output = _folder.File("saved");
        model.Save(output, copyTokenizerFrom: null, storeAs: null);

        // The file holds exactly the Hugging Face names, each the rows of the fused (K, N) parameter it came from, transposed back.
        var file = SafetensorsFile.Open(Path.Combine(output, HfModelDirectory.SingleWeightsFileName));
        var expected = LlamaTensorShapes.Expected(model.Config).Select(e => e.Name).Where(n => !(model.Config.TieWordEmbeddings && n == "lm_head.weight"));
        Assert.Equal(expected.Order(StringComparer.Ordinal), file.Tensors.Keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(file.Tensors.Keys, n => n.Contains("qkv_proj", StringComparison.Ordinal) || n.Contains("gate_up_proj", StringComparison.Ordinal) || n.EndsWith("weight_t", StringComparison.Ordinal));
        var qkv = model.named_parameters().Single(p => p.name == "model.layers.1.self_attn.qkv_proj.weight_t").parameter;   // (C, (H + 2Hkv)·D)
        int q = model.Config.NumAttentionHeads * model.Config.HeadDim, kv = model.Config.NumKeyValueHeads * model.Config.HeadDim;
        Assert.True(file.ReadTensor("model.layers.1.self_attn.v_proj.weight").Equals(qkv.narrow(1, q + kv, kv).t()));
        var gateUp = model.named_parameters().Single(p => p.name == "model.layers.0.mlp.gate_up_proj.weight_t").parameter;  // (C, 2I)
        Assert.True(file.ReadTensor("model.layers.0.mlp.up_proj.weight").Equals(gateUp.narrow(1, model.Config.IntermediateSize, model.Config.IntermediateSize).t()));
        var o = model.named_parameters().Single(p => p.name == "model.layers.0.self_attn.o_proj.weight_t").parameter;      // (H·D, C)
        Assert.True(file.ReadTensor("model.layers.0.self_attn.o_proj.weight").Equals(o.t()));

        using var loaded = new LlamaForCausalLM(model.Config);
        PretrainedModel.LoadWeightsInto(loaded, output);
        var source = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in loaded.named_parameters())
        {
            Assert.True(parameter.Equals(source[name]), $"{name} differs after save and load");
        }

        foreach (var (name, tensor) in loaded.state_dict())
        {
            Assert.True(tensor.Equals(file.ReadTensor(name)), $"{name} differs from the file");
        }
    }
}
