using System;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.CommandLine;

/// <summary>Random-weight models for benchmarks that need a model's shape but not its knowledge: <c>random:15m</c>, <c>random:260k</c>.</summary>
internal static class RandomModels
{
    public const string Prefix = "random:";

    public static bool IsRandom(string model) => model.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>random:15m = dim 288, 6 layers, 6 heads, SwiGLU 768, vocab 32000 (15.2M parameters); random:260k = stories260K's shape.</summary>
    public static LlamaConfig Config(string spec) => spec.ToLowerInvariant() switch
    {
        "random:15m" => new LlamaConfig
        {
            VocabSize = 32000, HiddenSize = 288, IntermediateSize = 768, NumHiddenLayers = 6,
            NumAttentionHeads = 6, NumKeyValueHeads = 6, MaxPositionEmbeddings = 1024, RmsNormEps = 1e-5, TieWordEmbeddings = true, EosTokenIds = new[] { 2 },
        },
        "random:260k" => new LlamaConfig
        {
            VocabSize = 512, HiddenSize = 64, IntermediateSize = 172, NumHiddenLayers = 5,
            NumAttentionHeads = 8, NumKeyValueHeads = 4, MaxPositionEmbeddings = 512, RmsNormEps = 1e-5, TieWordEmbeddings = true, EosTokenIds = new[] { 2 },
        },
        _ => throw new ArgumentException($"unknown random model '{spec}' (known: random:15m, random:260k)."),
    };

    /// <summary>A seeded random model; weights N(0, 0.02) like a fresh Hugging Face init, embeddings N(0, 1).</summary>
    public static LlamaForCausalLM Create(string spec, int seed = 0, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var model = new LlamaForCausalLM(Config(spec), dtype, device);
        using var generator = new Generator(unchecked((ulong)seed)); // its own: torch's process-wide generator is shared
        using (no_grad())
        {
            foreach (var (name, p) in model.state_dict())
            {
                if (!name.EndsWith("norm.weight", StringComparison.Ordinal))
                {
                    using var drawn = empty(p.shape, dtype: p.dtype, device: p.device).normal_(0, name.Contains("embed", StringComparison.Ordinal) ? 1.0 : 0.02, generator);
                    p.copy_(drawn);                                                     // drawn in the Hugging Face layout, whatever the parameter's
                }
            }
        }

        model.eval();
        return model;
    }
}
