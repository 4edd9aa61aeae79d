using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm.Core;

/// <summary>
/// Reads Hugging Face <c>config.json</c> and <c>generation_config.json</c> files of LLaMA-family models into
/// <see cref="LlamaConfig"/>.
/// </summary>
/// <remarks>
/// <para>Supported <c>model_type</c>s and how their bias flags map (following the Hugging Face modelling code, which
/// hard-codes them for Mistral and Qwen2):</para>
/// <list type="bullet">
/// <item><c>llama</c>: <see cref="LlamaConfig.AttentionBias"/> = <c>attention_bias</c> and
/// <see cref="LlamaConfig.MlpBias"/> = <c>mlp_bias</c> (both default false). Note that in Hugging Face's Llama,
/// <c>attention_bias</c> also gives <c>o_proj</c> a bias.</item>
/// <item><c>mistral</c>: no biases; <c>attention_bias</c>/<c>mlp_bias</c> are ignored as Hugging Face ignores them.</item>
/// <item><c>qwen2</c>: <see cref="LlamaConfig.AttentionBias"/> = true (q/k/v carry a bias, o_proj does not), no MLP
/// bias; <c>use_sliding_window: true</c> is rejected.</item>
/// </list>
/// <para>Required fields: model_type, vocab_size, hidden_size, intermediate_size, num_hidden_layers,
/// num_attention_heads, max_position_embeddings. Defaults as in Hugging Face: num_key_value_heads =
/// num_attention_heads, rms_norm_eps = 1e-6, rope_theta = 10000, tie_word_embeddings = false, hidden_act = silu
/// (anything else is rejected). Mistral's <c>sliding_window</c> caps the usable context (max_position_embeddings
/// becomes the window when that is smaller), so attention never reaches past the window. Fields Cllm does not model
/// (initializer_range, use_cache, …) are ignored. <c>rope_scaling</c> may be null or of type default, linear or llama3 (key
/// <c>rope_type</c> or the older <c>type</c>); transformers 5's <c>rope_parameters</c> is read too.</para>
/// </remarks>
internal static class HfConfigReader
{
    /// <summary>The <c>model_type</c> values this reader accepts.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = new[] { "llama", "mistral", "qwen2" };

    /// <summary>Reads and validates a <c>config.json</c>.</summary>
    /// <exception cref="CheckpointException">
    /// The file is missing or malformed, a required field is missing, a field has the wrong type, the model type or
    /// a feature is unsupported, or <see cref="LlamaConfig.Validate"/> rejects the numbers.
    /// </exception>
    public static LlamaConfig Read(string configJsonPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(configJsonPath);
        var path = System.IO.Path.GetFullPath(configJsonPath);
        using var document = JsonFields.LoadDocument(path);
        var fields = new JsonFields(path, document.RootElement);

        var modelType = fields.RequiredString("model_type");
        if (!SupportedModelTypes.Contains(modelType, StringComparer.Ordinal))
        {
            throw new CheckpointException(path, $"unknown model_type '{modelType}' (supported: {string.Join(", ", SupportedModelTypes)})");
        }

        var activation = fields.OptionalString("hidden_act") ?? "silu";
        if (activation != "silu")
        {
            throw fields.Invalid("hidden_act", $"is '{activation}'; only 'silu' is supported");
        }

        if (modelType == "qwen2" && fields.OptionalBool("use_sliding_window") == true)
        {
            throw fields.Invalid("use_sliding_window", "is true; sliding-window attention is not supported");
        }

        var heads = fields.RequiredInt("num_attention_heads");
        var (ropeTheta, ropeScaling) = ReadRope(fields);
        var config = new LlamaConfig
        {
            ModelType = modelType,
            VocabSize = fields.RequiredInt("vocab_size"),
            HiddenSize = fields.RequiredInt("hidden_size"),
            IntermediateSize = fields.RequiredInt("intermediate_size"),
            NumHiddenLayers = fields.RequiredInt("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = fields.OptionalInt("num_key_value_heads") ?? heads,
            HeadDimOverride = fields.OptionalInt("head_dim"),
            MaxPositionEmbeddings = UsableContext(fields, modelType),
            RmsNormEps = fields.OptionalDouble("rms_norm_eps") ?? 1e-6,
            RopeTheta = ropeTheta,
            RopeScaling = ropeScaling,
            AttentionBias = modelType switch
            {
                "qwen2" => true,
                "mistral" => false,
                _ => fields.OptionalBool("attention_bias") ?? false,
            },
            MlpBias = modelType == "llama" && (fields.OptionalBool("mlp_bias") ?? false),
            TieWordEmbeddings = fields.OptionalBool("tie_word_embeddings") ?? false,
            BosTokenId = fields.OptionalInt("bos_token_id"),
            EosTokenIds = fields.OptionalIdList("eos_token_id") ?? Array.Empty<int>(),
            PadTokenId = fields.OptionalInt("pad_token_id"),
            TorchDtype = fields.OptionalString("torch_dtype") ?? fields.OptionalString("dtype"),
        };

        try
        {
            config.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new CheckpointException(path, ex.Message, ex);
        }

        return config;
    }

    /// <summary>
    /// The <c>eos_token_id</c> of a <c>generation_config.json</c> (a single id or a list), or null when the field is
    /// absent or null.
    /// </summary>
    /// <exception cref="CheckpointException">The file is missing or malformed, or the field has the wrong type.</exception>
    public static IReadOnlyList<int>? ReadGenerationEos(string generationConfigPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(generationConfigPath);
        var path = System.IO.Path.GetFullPath(generationConfigPath);
        using var document = JsonFields.LoadDocument(path);
        return new JsonFields(path, document.RootElement).OptionalIdList("eos_token_id");
    }

    /// <summary>
    /// max_position_embeddings, capped at Mistral's <c>sliding_window</c> when that is smaller: within the window,
    /// sliding-window attention is full causal attention, so capping the context keeps every output exact.
    /// </summary>
    private static int UsableContext(JsonFields fields, string modelType)
    {
        int context = fields.RequiredInt("max_position_embeddings");
        if (modelType == "mistral" && fields.OptionalInt("sliding_window") is { } window)
        {
            if (window < 1)
            {
                throw fields.Invalid("sliding_window", $"is {window}; it must be positive or null");
            }

            context = Math.Min(context, window);
        }

        return context;
    }

    private static (double Theta, RopeScaling? Scaling) ReadRope(JsonFields fields)
    {
        var parameters = fields.OptionalObject("rope_parameters");
        var theta = fields.OptionalDouble("rope_theta") ?? parameters?.OptionalDouble("rope_theta") ?? 10000.0;
        if ((fields.OptionalObject("rope_scaling") ?? parameters) is not { } scaling)
        {
            return (theta, null);
        }

        var type = scaling.OptionalString("rope_type") ?? scaling.OptionalString("type") ?? throw scaling.Missing("rope_type");
        return type switch
        {
            "default" => (theta, null),
            "linear" => (theta, new RopeScaling { Type = "linear", Factor = scaling.RequiredDouble("factor") }),
            "llama3" => (theta, new RopeScaling
            {
                Type = "llama3",
                Factor = scaling.RequiredDouble("factor"),
                LowFreqFactor = scaling.RequiredDouble("low_freq_factor"),
                HighFreqFactor = scaling.RequiredDouble("high_freq_factor"),
                OriginalMaxPositionEmbeddings = scaling.RequiredInt("original_max_position_embeddings"),
            }),
            _ => throw scaling.Invalid("rope_type", $"is '{type}', which is not supported (supported: default, linear, llama3)"),
        };
    }
}
