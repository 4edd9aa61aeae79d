using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Core;
using TorchSharp;

namespace Cllm.Tests.Checkpoints;

/// <summary>Builds small Hugging Face style model folders for tests.</summary>
internal static class ModelFolders
{
    public const string MinimalConfig = """
        {"model_type": "llama", "vocab_size": 16, "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 2,
         "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 32, "tie_word_embeddings": false}
        """;

    public static void WriteConfig(string folder) => File.WriteAllText(Path.Combine(folder, "config.json"), MinimalConfig);

    /// <summary>A config.json plus a single model.safetensors holding <paramref name="tensors"/>.</summary>
    public static HfModelDirectory SingleFile(string folder, IEnumerable<KeyValuePair<string, torch.Tensor>> tensors, torch.ScalarType? storeAs = null)
    {
        WriteConfig(folder);
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors, storeAs);
        return HfModelDirectory.Open(folder);
    }

    /// <summary>A config.json plus <paramref name="shards"/> shards and an index; tensor i goes to shard i * shards / count.</summary>
    public static void Sharded(string folder, IReadOnlyList<KeyValuePair<string, torch.Tensor>> tensors, int shards)
    {
        WriteConfig(folder);
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (var s = 0; s < shards; s++)
        {
            var name = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var part = tensors.Where((_, i) => i * shards / tensors.Count == s).ToList();
            SafetensorsWriter.Write(Path.Combine(folder, name), part);
            foreach (var (tensor, _) in part)
            {
                weightMap[tensor] = name;
            }
        }

        var index = new { metadata = new { total_size = 0 }, weight_map = weightMap };
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), JsonSerializer.Serialize(index));
    }
}
