using System;
using System.Collections.Generic;

namespace Cllm.Core;

/// <summary>
/// The shape of a LLaMA-family decoder, named after the fields of Hugging Face's <c>config.json</c>.
/// Immutable; <see cref="Validate"/> checks that the numbers describe a buildable model.
/// </summary>
public sealed record LlamaConfig
{
    /// <summary><c>model_type</c>: llama, mistral or qwen2.</summary>
    public string ModelType { get; init; } = "llama";

    /// <summary><c>vocab_size</c> (V).</summary>
    public required int VocabSize { get; init; }

    /// <summary><c>hidden_size</c> (C).</summary>
    public required int HiddenSize { get; init; }

    /// <summary><c>intermediate_size</c>: the SwiGLU hidden width.</summary>
    public required int IntermediateSize { get; init; }

    /// <summary><c>num_hidden_layers</c> (L).</summary>
    public required int NumHiddenLayers { get; init; }

    /// <summary><c>num_attention_heads</c> (H).</summary>
    public required int NumAttentionHeads { get; init; }

    /// <summary><c>num_key_value_heads</c> (Hkv); equal to H unless the model uses grouped-query attention.</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary><c>head_dim</c> (D); <c>hidden_size / num_attention_heads</c> when the config omits it.</summary>
    public int? HeadDimOverride { get; init; }

    /// <summary>The per-head width D actually used.</summary>
    public int HeadDim => HeadDimOverride ?? HiddenSize / NumAttentionHeads;

    /// <summary><c>max_position_embeddings</c>: the context length.</summary>
    public required int MaxPositionEmbeddings { get; init; }

    /// <summary><c>rms_norm_eps</c>.</summary>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary><c>rope_theta</c>.</summary>
    public double RopeTheta { get; init; } = 10000.0;

    /// <summary><c>rope_scaling</c>, or null for none.</summary>
    internal RopeScaling? RopeScaling { get; init; }

    /// <summary><c>attention_bias</c>: q/k/v projections carry a bias (Qwen2 always; LLaMA when the flag is set).</summary>
    public bool AttentionBias { get; init; }

    /// <summary>o_proj carries a bias: LLaMA's <c>attention_bias</c> covers it, Qwen2's q/k/v bias does not.</summary>
    public bool AttentionOutputBias => AttentionBias && ModelType == "llama";

    /// <summary><c>mlp_bias</c>.</summary>
    public bool MlpBias { get; init; }

    /// <summary><c>tie_word_embeddings</c>: the classifier reuses <c>model.embed_tokens.weight</c>.</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary><c>bos_token_id</c>.</summary>
    public int? BosTokenId { get; init; }

    /// <summary><c>eos_token_id</c> (a single id or a list in the file).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = Array.Empty<int>();

    /// <summary><c>pad_token_id</c>.</summary>
    public int? PadTokenId { get; init; }

    /// <summary><c>torch_dtype</c> as written in the file (informational; the load dtype is chosen by the caller).</summary>
    public string? TorchDtype { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field that cannot describe a model.</summary>
    public void Validate()
    {
        static void Positive(int value, string name)
        {
            if (value <= 0)
            {
                throw new ArgumentException($"config field '{name}' must be positive, got {value}.");
            }
        }

        Positive(VocabSize, "vocab_size");
        Positive(HiddenSize, "hidden_size");
        Positive(IntermediateSize, "intermediate_size");
        Positive(NumHiddenLayers, "num_hidden_layers");
        Positive(NumAttentionHeads, "num_attention_heads");
        Positive(NumKeyValueHeads, "num_key_value_heads");
        Positive(MaxPositionEmbeddings, "max_position_embeddings");
        Positive(HeadDim, "head_dim");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
        {
            throw new ArgumentException($"config: num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads}).");
        }

        if (HeadDimOverride is null && HiddenSize % NumAttentionHeads != 0)
        {
            throw new ArgumentException($"config: hidden_size ({HiddenSize}) is not divisible by num_attention_heads ({NumAttentionHeads}) and no head_dim is given.");
        }

        if (HeadDim % 2 != 0)
        {
            throw new ArgumentException($"config: head_dim ({HeadDim}) must be even for rotary embeddings.");
        }

        if (RmsNormEps <= 0 || RopeTheta <= 0)
        {
            throw new ArgumentException("config: rms_norm_eps and rope_theta must be positive.");
        }

        if (RopeScaling is { } s)
        {
            if (s.Type is not ("linear" or "llama3"))
            {
                throw new ArgumentException($"config: rope_scaling type '{s.Type}' is not supported (supported: linear, llama3).");
            }

            if (s.Factor <= 0)
            {
                throw new ArgumentException($"config: rope_scaling factor must be positive, got {s.Factor}.");
            }
        }
    }
}
