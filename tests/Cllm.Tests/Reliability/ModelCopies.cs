using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Cllm.Core;
using Cllm.Tests.TestKit;
using TorchSharp;

namespace Cllm.Tests.Reliability;

/// <summary>Writable copies of the shared stories260K folder, damaged on purpose.</summary>
internal static class ModelCopies
{
    /// <summary>Copies stories260K's files (not its sub-folders) into <paramref name="folder"/> and returns it.</summary>
    public static string Copy(string folder)
    {
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(ShippedModels.Stories260K))
        {
            var target = Path.Combine(folder, Path.GetFileName(file));
            File.Copy(file, target, overwrite: true);
            File.SetAttributes(target, FileAttributes.Normal);
        }

        return folder;
    }

    /// <summary>Sets one config.json field to <paramref name="value"/>.</summary>
    public static void SetConfig(string folder, string field, JsonNode value)
    {
        string path = Path.Combine(folder, HfModelDirectory.ConfigFileName);
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config[field] = value;
        File.WriteAllText(path, config.ToJsonString());
    }

    /// <summary>Rewrites model.safetensors with <paramref name="change"/> applied to tensor <paramref name="name"/> (in place, float32).</summary>
    public static void ChangeTensor(string folder, string name, Action<torch.Tensor> change)
    {
        string path = Path.Combine(folder, HfModelDirectory.SingleWeightsFileName);
        using var scope = torch.NewDisposeScope();
        var file = SafetensorsFile.Open(path);
        var tensors = file.Tensors.Keys.Select(n => new KeyValuePair<string, torch.Tensor>(n, file.ReadTensor(n))).ToList();
        change(tensors.Single(t => t.Key == name).Value);
        string temp = path + ".new";
        SafetensorsWriter.Write(temp, tensors);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>
    /// The one "error: " line of captured stderr, which must be its last line (progress lines such as "collecting …"
    /// may come before it).
    /// </summary>
    public static string ErrorLine(string stderr)
    {
        var lines = Lines(stderr);
        var error = Assert.Single(lines, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Equal(lines[^1], error);
        return error;
    }

    /// <summary>The non-empty lines of captured stderr.</summary>
    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
