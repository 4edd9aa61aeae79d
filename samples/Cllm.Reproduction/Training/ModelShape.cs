using System;
using System.Globalization;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Reproduction.Training;

/// <summary>The base model's size: width, depth, heads and SwiGLU width, with tied embeddings.</summary>
/// <param name="Dim">Hidden size C.</param>
/// <param name="Layers">Decoder layers L.</param>
/// <param name="Heads">Attention heads H (no grouped-query attention).</param>
/// <param name="Ffn">SwiGLU hidden width.</param>
public sealed record ModelShape(int Dim, int Layers, int Heads, int Ffn)
{
    /// <summary>The default shape of the reproduction's base model.</summary>
    public static ModelShape Default { get; } = new(256, 4, 8, 704);

    /// <summary>A tiny shape for tests.</summary>
    public static ModelShape Tiny { get; } = new(64, 2, 4, 172);

    /// <summary>Parses "DIMxLAYERSxHEADSxFFN", e.g. "256x4x8x704".</summary>
    public static ModelShape Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        var parts = text.Split('x');
        if (parts.Length != 4)
        {
            throw new FormatException($"'{text}': a model shape is DIMxLAYERSxHEADSxFFN, e.g. 256x4x8x704.");
        }

        int Part(int i) => int.Parse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture);
        return new ModelShape(Part(0), Part(1), Part(2), Part(3));
    }

    /// <summary>The Hugging Face config of this shape for a vocabulary of <paramref name="vocabSize"/> ids.</summary>
    public LlamaConfig ToConfig(int vocabSize, int bos, int eos, int maxPositions = 256) => new()
    {
        VocabSize = vocabSize,
        HiddenSize = Dim,
        IntermediateSize = Ffn,
        NumHiddenLayers = Layers,
        NumAttentionHeads = Heads,
        NumKeyValueHeads = Heads,
        MaxPositionEmbeddings = maxPositions,
        RmsNormEps = 1e-5,
        TieWordEmbeddings = true,
        BosTokenId = bos,
        EosTokenIds = new[] { eos },
        TorchDtype = "float32",
    };

    /// <summary>A fresh model: every weight matrix N(0, 0.02), norms at one (Hugging Face's LLaMA init), seeded.</summary>
    public static LlamaForCausalLM CreateModel(LlamaConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        torch.manual_seed(seed);
        var model = new LlamaForCausalLM(config);
        using (no_grad())
        {
            foreach (var (name, p) in model.state_dict())
            {
                if (!name.EndsWith("norm.weight", StringComparison.Ordinal))
                {
                    using var drawn = torch.empty(p.shape, dtype: p.dtype).normal_(0, 0.02);
                    p.copy_(drawn);                                                     // drawn in the Hugging Face layout, whatever the parameter's
                }
            }
        }

        return model;
    }

    /// <summary>"256x4x8x704".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Dim}x{Layers}x{Heads}x{Ffn}");
}
