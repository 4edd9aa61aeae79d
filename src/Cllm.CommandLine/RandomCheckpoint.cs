using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.CommandLine;

/// <summary>
/// Writes a random-weight Hugging Face folder (config.json, generation_config.json, model.safetensors, tokenizer.json,
/// tokenizer_config.json) without building the model: each tensor is drawn, written and freed in turn, so a
/// checkpoint of any size costs about one tensor of memory. The tokenizer is a synthetic byte-level BPE that fills the
/// whole vocabulary (3 specials, 256 bytes, then two-byte merges), so any text encodes and every id decodes; the text
/// a random model writes is of course meaningless.
/// </summary>
internal static class RandomCheckpoint
{
    /// <summary>Specials at ids 0..2, as in LLaMA.</summary>
    private static readonly string[] Specials = { "<unk>", "<s>", "</s>" };

    /// <summary>The named shapes of <c>cllm dev init --shape</c>.</summary>
    public static string ShapeNames => "tinyllama-1.1b, 15m, 260k";

    /// <summary>tinyllama-1.1b = TinyLlama-1.1B (dim 2048, SwiGLU 5632, 22 layers, 32/4 heads, vocab 32000, untied).</summary>
    public static LlamaConfig Shape(string name) => name.ToLowerInvariant() switch
    {
        "tinyllama-1.1b" => new LlamaConfig
        {
            VocabSize = 32000, HiddenSize = 2048, IntermediateSize = 5632, NumHiddenLayers = 22, NumAttentionHeads = 32,
            NumKeyValueHeads = 4, MaxPositionEmbeddings = 2048, RmsNormEps = 1e-5, RopeTheta = 10000, TieWordEmbeddings = false,
            BosTokenId = 1, EosTokenIds = new[] { 2 },
        },
        "15m" => RandomModels.Config("random:15m") with { BosTokenId = 1 },
        "260k" => RandomModels.Config("random:260k") with { BosTokenId = 1 },
        _ => throw new ArgumentException($"--shape: unknown shape '{name}' (known: {ShapeNames})."),
    };

    /// <summary>
    /// Writes the folder. Weights and embeddings are N(0, 0.02), norms 1, drawn from a generator seeded with
    /// <paramref name="seed"/> in float32 and stored as <paramref name="dtype"/>.
    /// </summary>
    public static void Write(LlamaConfig config, ScalarType dtype, string folder, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (config.VocabSize < Specials.Length + 256)
        {
            throw new ArgumentException($"a random checkpoint needs vocab_size ≥ {Specials.Length + 256} for its byte-level tokenizer, got {config.VocabSize}.");
        }

        Directory.CreateDirectory(folder);
        var saved = config with { TorchDtype = dtype switch { ScalarType.BFloat16 => "bfloat16", ScalarType.Float16 => "float16", _ => "float32" } };
        HfConfigWriter.Write(saved, Path.Combine(folder, HfModelDirectory.ConfigFileName));
        HfConfigWriter.WriteGenerationConfig(saved, Path.Combine(folder, HfModelDirectory.GenerationConfigFileName));
        File.WriteAllText(Path.Combine(folder, TokenizerJsonReader.FileName), TokenizerJson(config.VocabSize));
        File.WriteAllText(Path.Combine(folder, TokenizerConfig.FileName), TokenizerConfigJson());

        using var generator = new Generator(unchecked((ulong)seed));                     // any int: a negative seed is as good as another
        using var small = 0.02.ToScalar();
        var entries = LlamaTensorShapes.Expected(config).Select(e => (e.Name, e.Shape, dtype, (Func<Tensor>)(() => Draw(e.Name, e.Shape, generator, small))));
        SafetensorsWriter.WriteGenerated(Path.Combine(folder, HfModelDirectory.SingleWeightsFileName), entries);
    }

    /// <summary>One float32 tensor of <paramref name="shape"/>: ones for norms, N(0, 0.02) otherwise (Hugging Face's fresh LLaMA init).</summary>
    private static Tensor Draw(string name, long[] shape, Generator generator, Scalar small)
    {
        if (name.EndsWith("norm.weight", StringComparison.Ordinal))
        {
            return ones(shape, dtype: ScalarType.Float32);
        }

        var values = randn(shape, dtype: ScalarType.Float32, generator: generator);
        return values.mul_(small);
    }

    /// <summary>Byte-level BPE over the whole vocabulary: ids 0..2 specials, 3..258 bytes, then merges of byte pairs.</summary>
    private static string TokenizerJson(int vocabSize)
    {
        var vocab = new JsonObject();
        for (int i = 0; i < Specials.Length; i++)
        {
            vocab[Specials[i]] = i;
        }

        var symbols = Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.CharFor((byte)b).ToString()).ToArray();
        int next = Specials.Length;
        foreach (var symbol in symbols)
        {
            vocab[symbol] = next++;
        }

        var merges = new JsonArray();
        for (int left = 0; left < 256 && next < vocabSize; left++)
        {
            for (int right = 0; right < 256 && next < vocabSize; right++)
            {
                merges.Add(symbols[left] + " " + symbols[right]);
                vocab[symbols[left] + symbols[right]] = next++;
            }
        }

        var added = new JsonArray(Specials.Select((content, id) => (JsonNode)new JsonObject
        {
            ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
        }).ToArray());
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = JsonNode.Parse("""{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"""),
            ["post_processor"] = null,
            ["decoder"] = JsonNode.Parse("""{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"""),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = merges,
            },
        }.ToJsonString();
    }

    private static string TokenizerConfigJson()
    {
        var decoder = new JsonObject();
        for (int i = 0; i < Specials.Length; i++)
        {
            decoder[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject { ["content"] = Specials[i], ["special"] = true };
        }

        return new JsonObject
        {
            ["add_bos_token"] = true, ["add_eos_token"] = false, ["bos_token"] = Specials[1], ["eos_token"] = Specials[2], ["unk_token"] = Specials[0],
            ["added_tokens_decoder"] = decoder,
        }.ToJsonString();
    }
}
