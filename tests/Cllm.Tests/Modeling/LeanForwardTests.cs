using System;
using System.Linq;
using Cllm.Core;
using Cllm.Tests.TestKit;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Modeling;

/// <summary>The lean inference path (fused, transposed weight copies) computes what the modules compute.</summary>
public class LeanForwardTests
{
    private static readonly long[] Tokens = { 1, 9, 23, 4, 77, 15, 60, 3, 41, 8, 19, 52 };

    public static TheoryData<string> Configs => new() { "gqa", "tied", "qwen2-bias", "llama-all-bias" };

    private static LlamaForCausalLM Model(string kind) => TinyLlama.Create(11, kind switch
    {
        "tied" => TinyLlama.Config(tied: true),
        "qwen2-bias" => TinyLlama.Config() with { ModelType = "qwen2", AttentionBias = true },
        "llama-all-bias" => TinyLlama.Config() with { AttentionBias = true, MlpBias = true },
        _ => TinyLlama.Config(),
    });

    /// <summary>Runs <paramref name="run"/> on the module path and on the lean path, under inference mode.</summary>
    private static (Tensor Modules, Tensor Lean) Both(LlamaForCausalLM model, Func<Tensor> run)
    {
        using var inference = inference_mode();
        model.FastInference = false;
        var modules = run();
        model.FastInference = true;
        return (modules, run());
    }

    private static float MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Fact]
    public void Models_above_the_copy_limit_run_the_modules_without_copying_their_weights()
    {
        using var model = Model("gqa");
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        Assert.Equal(LlamaForCausalLM.DefaultLeanCopyLimitBytes, model.LeanCopyLimitBytes);
        Assert.Equal(model.parameters().Sum(p => p.numel()), model.ParameterCount);

        model.LeanCopyLimitBytes = model.ParameterCount * sizeof(float) - 1;               // the float32 weights' bytes, less one
        var above = model.Forward(tensor(Tokens).view(1, -1));
        Assert.False(model.HasLeanCopy);
        model.FastInference = false;
        var modules = model.Forward(tensor(Tokens).view(1, -1));
        Assert.Equal(0f, MaxDiff(above, modules));                                              // the same path, bit for bit

        model.FastInference = true;
        model.LeanCopyLimitBytes = model.ParameterCount * sizeof(float);
        var lean = model.Forward(tensor(Tokens).view(1, -1));
        Assert.True(model.HasLeanCopy);
        Assert.True(MaxDiff(lean, modules) < 1e-4f);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Full_cached_and_last_only_forwards_match_the_modules(string kind)
    {
        using var model = Model(kind);
        using var scope = NewDisposeScope();
        var (full, leanFull) = Both(model, () => model.Forward(tensor(Tokens).view(1, -1)));
        Assert.Equal(full.shape, leanFull.shape);
        Assert.True(MaxDiff(full, leanFull) < 1e-4f, $"full forward differs by {MaxDiff(full, leanFull)}");

        // Prefill 5, one token, then a block of 6, through a cache: T = 1 and T > 1 with a sliced causal mask.
        var (pieces, leanPieces) = Both(model, () =>
        {
            using var cache = model.CreateCache(32);
            var a = model.Forward(tensor(Tokens[..5]).view(1, -1), cache, lastPositions: 1);
            var b = model.Forward(tensor(Tokens[5..6]).view(1, -1), cache);
            var c = model.Forward(tensor(Tokens[6..]).view(1, -1), cache);
            Assert.Equal(12, cache.Length);
            return cat(new[] { a, b, c }, 1);                                                   // (1, 8, V)
        });
        Assert.True(MaxDiff(pieces, leanPieces) < 1e-4f, $"cached forwards differ by {MaxDiff(pieces, leanPieces)}");
        Assert.True(MaxDiff(leanPieces, full.narrow(1, 4, 8)) < 1e-4f);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(12)]
    public void Last_positions_are_the_last_rows_of_the_full_forward(int last)
    {
        using var model = Model("gqa");
        using var scope = NewDisposeScope();
        var (full, leanFull) = Both(model, () => model.Forward(tensor(Tokens).view(1, -1)));
        var (modules, lean) = Both(model, () =>
        {
            using var cache = model.CreateCache(16);
            var logits = model.Forward(tensor(Tokens).view(1, -1), cache, lastPositions: last);
            Assert.Equal(Tokens.Length, cache.Length);                                           // every position is cached
            return logits;
        });
        Assert.Equal(new long[] { 1, last, model.Config.VocabSize }, lean.shape);
        Assert.True(MaxDiff(full.narrow(1, Tokens.Length - last, last), modules) < 1e-5f, $"modules differ by {MaxDiff(full.narrow(1, Tokens.Length - last, last), modules)}");  // fewer rows may take another matmul kernel
        Assert.True(MaxDiff(leanFull.narrow(1, Tokens.Length - last, last), lean) < 1e-5f, $"lean differs by {MaxDiff(leanFull.narrow(1, Tokens.Length - last, last), lean)}");
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(tensor(Tokens).view(1, -1), lastPositions: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(tensor(Tokens).view(1, -1), lastPositions: Tokens.Length + 1));
    }

    [Fact]
    public void Tree_mask_and_explicit_positions_match_the_modules()
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
        var (modules, lean) = Both(model, () =>
        {
            using var cache = model.CreateCache(16);
            model.Forward(tensor(Tokens[..4]).view(1, -1), cache);
            return model.Forward(tensor(Tokens[4..8]).view(1, -1), cache, positions, mask);
        });
        Assert.True(MaxDiff(modules, lean) < 1e-4f, $"tree forward differs by {MaxDiff(modules, lean)}");
    }

    [Fact]
    public void Weight_changes_reach_the_lean_path_after_invalidation_and_train()
    {
        using var model = Model("gqa");
        using var scope = NewDisposeScope();
        var ids = tensor(Tokens).view(1, -1);
        Tensor Lean()
        {
            using var inference = inference_mode();
            return model.Forward(ids);
        }

        var before = Lean();
        var embedding = model.named_parameters().First(p => p.name == "model.embed_tokens.weight").parameter;
        using (no_grad())
        {
            using var two = 2.0.ToScalar();
            embedding.mul_(two);
        }

        model.InvalidateInferenceWeights();
        var (modules, after) = Both(model, () => model.Forward(ids));
        Assert.True(MaxDiff(before, after) > 1e-3f, "the lean path still used the old weights");
        Assert.True(MaxDiff(modules, after) < 1e-4f);

        model.train();                                                                      // drops the copy
        var gate = model.named_parameters().First(p => p.name.EndsWith("0.mlp.gate_proj.weight", StringComparison.Ordinal)).parameter;
        using (no_grad())
        {
            gate.zero_();
        }

        model.eval();
        var (modules2, after2) = Both(model, () => model.Forward(ids));
        Assert.True(MaxDiff(modules2, after2) < 1e-4f, $"after train(): {MaxDiff(modules2, after2)}");
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
                model.Forward(tensor(Tokens[..4]).view(1, -1), cache, lastPositions: 1);        // the lean copy is built under inference mode
                outputs.Add(model.Forward(tensor(Tokens[4..5]).view(1, -1), cache));
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

        model.FastInference = false;
        var modules = Steps();
        model.FastInference = true;
        var lean = Steps();
        var again = Steps();
        Assert.True(MaxDiff(modules, lean) < 1e-4f, $"decode steps differ by {MaxDiff(modules, lean)}");
        Assert.Equal(0f, MaxDiff(lean, again));
    }
}
