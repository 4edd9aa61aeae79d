using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using TorchSharp;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>
/// Exports a Hugging Face LLaMA folder (config.json, safetensors, tokenizer) as a GGUF v3 file in llama.cpp's LLAMA
/// layout: llama.cpp tensor names, q/k rows in interleaved RoPE order, <c>llama.*</c> hyper-parameters and
/// <c>tokenizer.ggml.*</c> vocabulary, so llama.cpp (and LLamaSharp) run the same weights.
/// </summary>
public static partial class GgufExporter
{
    /// <summary>Writes <paramref name="outputPath"/> (atomically) from the model folder <paramref name="modelDirectory"/>.</summary>
    /// <param name="modelDirectory">Hugging Face model folder.</param>
    /// <param name="outputPath">The .gguf file to write.</param>
    /// <param name="fileType">Storage of the weight matrices; norm vectors are always F32.</param>
    /// <param name="placeholderVocabulary">Without a tokenizer file, write a placeholder LLaMA-2-shaped vocabulary (random-weight models) instead of failing.</param>
    /// <exception cref="CheckpointException">A file is missing or malformed, or the model uses a feature the LLAMA layout cannot express.</exception>
    public static void Export(string modelDirectory, string outputPath, GgufFileType fileType = GgufFileType.F32, bool placeholderVocabulary = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        var directory = HfModelDirectory.Open(modelDirectory);
        var config = directory.ReadConfig();
        var writer = Build(directory, config, fileType, placeholderVocabulary);
        AtomicFile.Write(outputPath, writer.WriteTo);
    }

    internal static GgufWriter Build(HfModelDirectory directory, LlamaConfig config, GgufFileType fileType, bool placeholderVocabulary)
    {
        if (config.ModelType != "llama")
        {
            throw new CheckpointException(directory.ConfigPath, $"model_type '{config.ModelType}' cannot be exported to GGUF (only llama)");
        }

        if (config.AttentionBias || config.MlpBias)
        {
            throw new CheckpointException(directory.ConfigPath, "attention_bias/mlp_bias models cannot be exported to GGUF yet");
        }

        if (config.RopeScaling is not null)
        {
            throw new CheckpointException(directory.ConfigPath, "rope_scaling models cannot be exported to GGUF yet");
        }

        var writer = new GgufWriter();
        writer.Add("general.architecture", GgufMetadataValue.Of("llama"));
        writer.Add("general.name", GgufMetadataValue.Of(Path.GetFileName(directory.Path.TrimEnd(Path.DirectorySeparatorChar))));
        writer.Add("general.file_type", GgufMetadataValue.Of((uint)fileType));
        if (fileType == GgufFileType.Q8_0)
        {
            writer.Add("general.quantization_version", GgufMetadataValue.Of(2u));
        }

        writer.Add("llama.vocab_size", GgufMetadataValue.Of((uint)config.VocabSize));
        writer.Add("llama.context_length", GgufMetadataValue.Of((uint)config.MaxPositionEmbeddings));
        writer.Add("llama.embedding_length", GgufMetadataValue.Of((uint)config.HiddenSize));
        writer.Add("llama.block_count", GgufMetadataValue.Of((uint)config.NumHiddenLayers));
        writer.Add("llama.feed_forward_length", GgufMetadataValue.Of((uint)config.IntermediateSize));
        writer.Add("llama.attention.head_count", GgufMetadataValue.Of((uint)config.NumAttentionHeads));
        writer.Add("llama.attention.head_count_kv", GgufMetadataValue.Of((uint)config.NumKeyValueHeads));
        if (config.HeadDim * config.NumAttentionHeads != config.HiddenSize)
        {
            writer.Add("llama.attention.key_length", GgufMetadataValue.Of((uint)config.HeadDim));
            writer.Add("llama.attention.value_length", GgufMetadataValue.Of((uint)config.HeadDim));
        }

        writer.Add("llama.rope.dimension_count", GgufMetadataValue.Of((uint)config.HeadDim));
        writer.Add("llama.rope.freq_base", GgufMetadataValue.Of((float)config.RopeTheta));
        writer.Add("llama.attention.layer_norm_rms_epsilon", GgufMetadataValue.Of((float)config.RmsNormEps));
        GgufVocabulary.Add(writer, directory, config, placeholderVocabulary);

        var files = directory.WeightFiles.Select(SafetensorsFile.Open).ToList();
        var source = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            foreach (var name in file.Tensors.Keys)
            {
                source[name] = file;
            }
        }

        var names = new List<string> { "model.embed_tokens.weight" };
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            names.AddRange(LayerTensors.Select(t => $"model.layers.{layer}.{t}"));
        }

        names.Add("model.norm.weight");
        if (!config.TieWordEmbeddings)
        {
            names.Add("lm_head.weight");
        }

        var unexpected = source.Keys.Except(names).Where(n => !n.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)
            && !(config.TieWordEmbeddings && n == "lm_head.weight")).ToList();
        if (unexpected.Count > 0)
        {
            throw new CheckpointException(directory.WeightsPath, $"tensor '{unexpected[0]}' has no place in llama.cpp's LLAMA layout");
        }

        foreach (var name in names)
        {
            if (!source.TryGetValue(name, out var file))
            {
                throw new CheckpointException(directory.WeightsPath, $"no tensor named '{name}'");
            }

            writer.Add(Convert(name, file, config, fileType));
        }

        return writer;
    }

    private static readonly string[] LayerTensors =
    {
        "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
        "self_attn.o_proj.weight", "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
    };

    /// <summary>The llama.cpp name of a Hugging Face LLaMA tensor name.</summary>
    internal static string GgufName(string hfName)
    {
        switch (hfName)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }

        var match = LayerName().Match(hfName);
        if (!match.Success)
        {
            throw new ArgumentException($"'{hfName}' is not a LLaMA tensor name.", nameof(hfName));
        }

        string part = match.Groups[2].Value switch
        {
            "input_layernorm" => "attn_norm",
            "self_attn.q_proj" => "attn_q",
            "self_attn.k_proj" => "attn_k",
            "self_attn.v_proj" => "attn_v",
            "self_attn.o_proj" => "attn_output",
            "post_attention_layernorm" => "ffn_norm",
            "mlp.gate_proj" => "ffn_gate",
            "mlp.up_proj" => "ffn_up",
            "mlp.down_proj" => "ffn_down",
            var other => throw new ArgumentException($"'{other}' is not a LLaMA layer tensor.", nameof(hfName)),
        };
        return $"blk.{match.Groups[1].Value}.{part}.weight";
    }

    /// <summary>
    /// The GGUF tensor of one Hugging Face tensor: its shape and type from the header now, its bytes read, reordered
    /// (q/k rotary halves interleaved, as llama.cpp expects) and encoded only when the file is written.
    /// </summary>
    private static GgufTensor Convert(string name, SafetensorsFile file, LlamaConfig config, GgufFileType fileType)
    {
        long[] shape = file.Tensors[name].ShapeArray;
        var type = shape.Length != 2 ? GgufTensorType.F32 : fileType switch
        {
            GgufFileType.F32 => GgufTensorType.F32,
            GgufFileType.F16 => GgufTensorType.F16,
            _ => shape[1] % GgufEncoding.Q8BlockSize == 0 ? GgufTensorType.Q8_0 : GgufTensorType.F16,
        };
        long count = shape.Aggregate(1L, (a, b) => a * b);
        return new GgufTensor(GgufName(name), shape.Reverse().ToArray(), type, GgufEncoding.ByteLength(count, type), Encode);

        byte[] Encode()
        {
            float[] values;
            using (var scope = torch.NewDisposeScope())
            {
                values = file.ReadTensor(name, torch.ScalarType.Float32).contiguous().data<float>().ToArray();
            }

            if (shape.Length == 2)
            {
                int columns = checked((int)shape[1]);
                if (name.EndsWith("q_proj.weight", StringComparison.Ordinal))
                {
                    values = GgufRope.ToInterleaved(values, config.NumAttentionHeads, columns);
                }
                else if (name.EndsWith("k_proj.weight", StringComparison.Ordinal))
                {
                    values = GgufRope.ToInterleaved(values, config.NumKeyValueHeads, columns);
                }
            }

            return GgufEncoding.Encode(values, type);
        }
    }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)\.weight$")]
    private static partial Regex LayerName();
}
