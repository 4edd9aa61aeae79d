using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Cllm.Core;

/// <summary>
/// A Hugging Face model folder, resolved: <c>config.json</c> (required), the weights (<c>model.safetensors</c>, or
/// <c>model.safetensors.index.json</c> and the shards its <c>weight_map</c> names), and whichever tokenizer and
/// generation files are present. <see cref="Open"/> checks that every file it reports exists; it does not read
/// tensor data.
/// </summary>
internal sealed class HfModelDirectory
{
    /// <summary><c>config.json</c>.</summary>
    public const string ConfigFileName = "config.json";

    /// <summary><c>generation_config.json</c>.</summary>
    public const string GenerationConfigFileName = "generation_config.json";

    /// <summary><c>model.safetensors</c>: single-file weights.</summary>
    public const string SingleWeightsFileName = "model.safetensors";

    /// <summary><c>model.safetensors.index.json</c>: the index of sharded weights.</summary>
    public const string WeightsIndexFileName = "model.safetensors.index.json";

    /// <summary>The tokenizer files a checkpoint may carry, in the order <c>CheckpointWriter.Save</c> copies them.</summary>
    public static IReadOnlyList<string> TokenizerFileNames { get; } = new[]
    {
        "tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    };

    private HfModelDirectory(string path, string weightsPath, IReadOnlyList<string> weightFiles, IReadOnlyDictionary<string, string>? weightMap)
    {
        Path = path;
        WeightsPath = weightsPath;
        WeightFiles = weightFiles;
        WeightMap = weightMap;
        GenerationConfigPath = Existing(GenerationConfigFileName);
        TokenizerModelPath = Existing("tokenizer.model");
        TokenizerJsonPath = Existing("tokenizer.json");
        TokenizerConfigPath = Existing("tokenizer_config.json");
        SpecialTokensMapPath = Existing("special_tokens_map.json");
    }

    /// <summary>Full path of the folder.</summary>
    public string Path { get; }

    /// <summary>Full path of <c>config.json</c>.</summary>
    public string ConfigPath => File(ConfigFileName);

    /// <summary>Full path of <c>generation_config.json</c>, or null when absent.</summary>
    public string? GenerationConfigPath { get; }

    /// <summary>The file that describes the weights: <c>model.safetensors</c> or <c>model.safetensors.index.json</c>.</summary>
    public string WeightsPath { get; }

    /// <summary>True when the weights are sharded (an index file).</summary>
    public bool IsSharded => WeightMap is not null;

    /// <summary>Full paths of the safetensors files holding the weights (one, or the distinct shards in index order).</summary>
    public IReadOnlyList<string> WeightFiles { get; }

    /// <summary>For sharded weights, tensor name → full shard path, as the index's <c>weight_map</c> says; otherwise null.</summary>
    public IReadOnlyDictionary<string, string>? WeightMap { get; }

    /// <summary>Full path of the SentencePiece <c>tokenizer.model</c>, or null.</summary>
    public string? TokenizerModelPath { get; }

    /// <summary>Full path of <c>tokenizer.json</c>, or null.</summary>
    public string? TokenizerJsonPath { get; }

    /// <summary>Full path of <c>tokenizer_config.json</c>, or null.</summary>
    public string? TokenizerConfigPath { get; }

    /// <summary>Full path of <c>special_tokens_map.json</c>, or null.</summary>
    public string? SpecialTokensMapPath { get; }

    /// <summary>Full paths of the tokenizer files present, in <see cref="TokenizerFileNames"/> order.</summary>
    public IReadOnlyList<string> TokenizerFiles =>
        new[] { TokenizerModelPath, TokenizerJsonPath, TokenizerConfigPath, SpecialTokensMapPath }.OfType<string>().ToArray();

    /// <summary>Resolves the files of the model folder at <paramref name="path"/>.</summary>
    /// <exception cref="CheckpointException">
    /// The folder or <c>config.json</c> is missing, there is no safetensors weights file, or the index is malformed or
    /// names a shard that is missing.
    /// </exception>
    public static HfModelDirectory Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var folder = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(folder))
        {
            throw new CheckpointException(folder, System.IO.File.Exists(folder)
                ? "is a file; expected a model folder holding config.json and model.safetensors"
                : "model folder not found");
        }

        if (!System.IO.File.Exists(System.IO.Path.Combine(folder, ConfigFileName)))
        {
            throw new CheckpointException(folder, $"model folder has no {ConfigFileName}");
        }

        var single = System.IO.Path.Combine(folder, SingleWeightsFileName);
        if (System.IO.File.Exists(single))
        {
            return new HfModelDirectory(folder, single, new[] { single }, weightMap: null);
        }

        var index = System.IO.Path.Combine(folder, WeightsIndexFileName);
        if (System.IO.File.Exists(index))
        {
            var (files, map) = ReadIndex(folder, index);
            return new HfModelDirectory(folder, index, files, map);
        }

        var others = new[] { "pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "consolidated.00.pth" }
            .Where(name => System.IO.File.Exists(System.IO.Path.Combine(folder, name)))
            .ToList();
        var hint = others.Count > 0
            ? $"; found {string.Join(", ", others)}, which is not supported: convert the weights to safetensors"
            : string.Empty;
        throw new CheckpointException(folder, $"model folder has no weights file (expected {SingleWeightsFileName} or {WeightsIndexFileName}){hint}");
    }

    /// <summary>
    /// Reads <c>config.json</c> and, when <c>generation_config.json</c> is present and has an <c>eos_token_id</c>,
    /// makes its ids the leading end-of-sequence ids, followed by any other ids from <c>config.json</c>
    /// (generation ids override the order, config ids are kept so that no stop token is lost).
    /// </summary>
    /// <exception cref="CheckpointException">See <see cref="HfConfigReader.Read"/>.</exception>
    public LlamaConfig ReadConfig()
    {
        var config = HfConfigReader.Read(ConfigPath);
        if (GenerationConfigPath is null || HfConfigReader.ReadGenerationEos(GenerationConfigPath) is not { } generationEos)
        {
            return config;
        }

        return config with { EosTokenIds = generationEos.Concat(config.EosTokenIds).Distinct().ToArray() };
    }

    private string File(string name) => System.IO.Path.Combine(Path, name);

    private string? Existing(string name) => System.IO.File.Exists(File(name)) ? File(name) : null;

    private static (IReadOnlyList<string> Files, IReadOnlyDictionary<string, string> Map) ReadIndex(string folder, string index)
    {
        using var document = JsonFields.LoadDocument(index);
        var fields = new JsonFields(index, document.RootElement);
        var weightMap = fields.OptionalObject("weight_map") ?? throw fields.Missing("weight_map");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<string>();
        foreach (var entry in weightMap.Element.EnumerateObject())
        {
            if (entry.Value.ValueKind != System.Text.Json.JsonValueKind.String)
            {
                throw fields.Invalid($"weight_map.{entry.Name}", $"must be a shard file name, got {entry.Value.GetRawText()}");
            }

            var shard = entry.Value.GetString()!;
            if (shard.Length == 0 || shard is "." or ".." || System.IO.Path.GetFileName(shard) != shard
                || shard.IndexOfAny(System.IO.Path.GetInvalidFileNameChars()) >= 0 || shard.Contains('\\'))
            {
                throw fields.Invalid($"weight_map.{entry.Name}", $"names '{shard}', which is not a plain file name in the model folder");
            }

            if (map.ContainsKey(entry.Name))
            {
                throw fields.Invalid("weight_map", $"lists tensor '{entry.Name}' twice");
            }

            var shardPath = System.IO.Path.Combine(folder, shard);
            if (!files.Contains(shardPath))
            {
                if (!System.IO.File.Exists(shardPath))
                {
                    throw new CheckpointException(index, $"shard '{shard}' (holding tensor '{entry.Name}') is missing from the model folder");
                }

                files.Add(shardPath);
            }

            map.Add(entry.Name, shardPath);
        }

        if (map.Count == 0)
        {
            throw fields.Invalid("weight_map", "is empty");
        }

        return (files, map);
    }
}
