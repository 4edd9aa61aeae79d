using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Cllm.Core;

/// <summary>
/// Writes <see cref="LlamaConfig"/> as Hugging Face <c>config.json</c> and <c>generation_config.json</c> files that
/// transformers and <see cref="HfConfigReader"/> both accept. Files are replaced atomically.
/// </summary>
internal static class HfConfigWriter
{
    private static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes <paramref name="config"/> as a <c>config.json</c> at <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">
    /// The config does not validate, or it cannot be expressed for its model type (Qwen2 always has q/k/v bias and no
    /// MLP bias; Mistral has no biases).
    /// </exception>
    /// <exception cref="CheckpointException">The file cannot be written.</exception>
    public static void Write(LlamaConfig config, string path)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckExpressible(config);
        AtomicFile.Write(path, stream => WriteConfig(config, stream));
    }

    /// <summary>
    /// Writes a minimal <c>generation_config.json</c> carrying the config's bos, eos (single id or list) and pad ids.
    /// </summary>
    /// <exception cref="CheckpointException">The file cannot be written.</exception>
    public static void WriteGenerationConfig(LlamaConfig config, string path)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream, Options);
            json.WriteStartObject();
            json.WriteBoolean("_from_model_config", true);
            WriteOptionalInt(json, "bos_token_id", config.BosTokenId);
            WriteEos(json, config.EosTokenIds);
            WriteOptionalInt(json, "pad_token_id", config.PadTokenId);
            json.WriteEndObject();
            json.Flush();
            stream.WriteByte((byte)'\n');
        });
    }

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="config"/> is invalid or has no Hugging Face form.</summary>
    internal static void CheckExpressible(LlamaConfig config)
    {
        config.Validate();
        switch (config.ModelType)
        {
            case "llama":
                break;
            case "mistral" when config.AttentionBias || config.MlpBias:
                throw new ArgumentException("config: a mistral model has no attention or MLP bias in Hugging Face; set AttentionBias and MlpBias to false or use model type llama.", nameof(config));
            case "mistral":
                break;
            case "qwen2" when !config.AttentionBias || config.MlpBias:
                throw new ArgumentException("config: a qwen2 model always has q/k/v bias and no MLP bias in Hugging Face; set AttentionBias true and MlpBias false.", nameof(config));
            case "qwen2":
                break;
            default:
                throw new ArgumentException($"config: model type '{config.ModelType}' cannot be written (supported: {string.Join(", ", HfConfigReader.SupportedModelTypes)}).", nameof(config));
        }
    }

    private static void WriteConfig(LlamaConfig config, Stream stream)
    {
        using var json = new Utf8JsonWriter(stream, Options);
        json.WriteStartObject();
        json.WriteStartArray("architectures");
        json.WriteStringValue(config.ModelType switch
        {
            "mistral" => "MistralForCausalLM",
            "qwen2" => "Qwen2ForCausalLM",
            _ => "LlamaForCausalLM",
        });
        json.WriteEndArray();
        json.WriteString("model_type", config.ModelType);
        json.WriteNumber("vocab_size", config.VocabSize);
        json.WriteNumber("hidden_size", config.HiddenSize);
        json.WriteNumber("intermediate_size", config.IntermediateSize);
        json.WriteNumber("num_hidden_layers", config.NumHiddenLayers);
        json.WriteNumber("num_attention_heads", config.NumAttentionHeads);
        json.WriteNumber("num_key_value_heads", config.NumKeyValueHeads);
        if (config.HeadDimOverride is { } headDim)
        {
            json.WriteNumber("head_dim", headDim);
        }

        json.WriteNumber("max_position_embeddings", config.MaxPositionEmbeddings);
        WriteFloat(json, "rms_norm_eps", config.RmsNormEps);
        WriteFloat(json, "rope_theta", config.RopeTheta);
        WriteRopeScaling(json, config.RopeScaling);
        json.WriteString("hidden_act", "silu");
        if (config.ModelType == "llama")
        {
            json.WriteBoolean("attention_bias", config.AttentionBias);
            json.WriteBoolean("mlp_bias", config.MlpBias);
        }

        WriteFloat(json, "attention_dropout", 0.0);
        if (config.ModelType == "mistral")
        {
            json.WriteNull("sliding_window");
        }

        if (config.ModelType == "qwen2")
        {
            json.WriteBoolean("use_sliding_window", false);
            json.WriteNull("sliding_window");
        }

        json.WriteBoolean("tie_word_embeddings", config.TieWordEmbeddings);
        WriteOptionalInt(json, "bos_token_id", config.BosTokenId);
        WriteEos(json, config.EosTokenIds);
        WriteOptionalInt(json, "pad_token_id", config.PadTokenId);
        if (config.TorchDtype is { } dtype)
        {
            json.WriteString("torch_dtype", dtype);
        }

        WriteFloat(json, "initializer_range", 0.02);
        json.WriteBoolean("use_cache", true);
        json.WriteEndObject();
        json.Flush();
        stream.WriteByte((byte)'\n');
    }

    private static void WriteRopeScaling(Utf8JsonWriter json, RopeScaling? scaling)
    {
        if (scaling is null)
        {
            json.WriteNull("rope_scaling");
            return;
        }

        json.WriteStartObject("rope_scaling");
        json.WriteString("rope_type", scaling.Type);
        WriteFloat(json, "factor", scaling.Factor);
        if (scaling.Type == "llama3")
        {
            WriteFloat(json, "low_freq_factor", scaling.LowFreqFactor);
            WriteFloat(json, "high_freq_factor", scaling.HighFreqFactor);
            json.WriteNumber("original_max_position_embeddings", scaling.OriginalMaxPositionEmbeddings);
        }

        json.WriteEndObject();
    }

    private static void WriteEos(Utf8JsonWriter json, IReadOnlyList<int> ids)
    {
        switch (ids.Count)
        {
            case 0:
                json.WriteNull("eos_token_id");
                break;
            case 1:
                json.WriteNumber("eos_token_id", ids[0]);
                break;
            default:
                json.WriteStartArray("eos_token_id");
                foreach (var id in ids)
                {
                    json.WriteNumberValue(id);
                }

                json.WriteEndArray();
                break;
        }
    }

    /// <summary>Writes a float the way Python's json does, with a decimal point (10000.0), so transformers sees a float.</summary>
    private static void WriteFloat(Utf8JsonWriter json, string name, double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if (text.IndexOfAny(new[] { '.', 'E', 'e' }) < 0)
        {
            text += ".0";
        }

        json.WritePropertyName(name);
        json.WriteRawValue(text);
    }

    private static void WriteOptionalInt(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
