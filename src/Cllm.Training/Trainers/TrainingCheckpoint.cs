using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Cllm.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// Training checkpoints: <c>checkpoint-&lt;step&gt;</c> folders holding a Hugging Face model folder (config.json,
/// model.safetensors, tokenizer and generation files) plus <c>optimizer.safetensors</c> (AdamW moments, with each
/// parameter's step count in the metadata) and <c>trainer_state.json</c>. A folder is assembled under a temporary
/// name and renamed into place, so a visible checkpoint folder is always complete.
/// </summary>
internal static class TrainingCheckpoint
{
    public const string Prefix = "checkpoint-";
    public const string OptimizerFileName = "optimizer.safetensors";
    private const string TempPrefix = ".checkpoint-";
    private const string TempSuffix = ".tmp";

    /// <summary>Writes the checkpoint of <paramref name="state"/>.Step and prunes older ones; returns its folder.</summary>
    public static string Save(
        string outputDirectory,
        LlamaForCausalLM model,
        IReadOnlyList<(string Name, Parameter Parameter)> parameters,
        AdamWOptimizer optimizer,
        TrainerState state,
        string? tokenizerSource,
        int keep)
    {
        Directory.CreateDirectory(outputDirectory);
        var target = Path.Combine(outputDirectory, Prefix + state.Step.ToString(CultureInfo.InvariantCulture));
        var temp = Path.Combine(outputDirectory, $"{TempPrefix}{state.Step}.{Guid.NewGuid():N}{TempSuffix}");
        try
        {
            CheckpointWriter.Save(model, model.Config, temp, tokenizerSource, storeAs: null);
            SaveOptimizer(Path.Combine(temp, OptimizerFileName), model, parameters, optimizer);
            state.Write(Path.Combine(temp, TrainerState.FileName));                      // written last: marks the folder complete
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }

            Directory.Move(temp, target);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        Prune(outputDirectory, keep);
        return target;
    }

    /// <summary>The complete checkpoint with the highest step in <paramref name="outputDirectory"/>, or null.</summary>
    public static string? FindLatest(string outputDirectory)
    {
        if (!Directory.Exists(outputDirectory))
        {
            return null;
        }

        return List(outputDirectory).OrderByDescending(c => c.Step).Select(c => c.Path).FirstOrDefault();
    }

    /// <summary>Loads weights and optimizer state from <paramref name="folder"/>; returns its trainer state.</summary>
    public static TrainerState Load(
        string folder,
        LlamaForCausalLM model,
        IReadOnlyList<(string Name, Parameter Parameter)> parameters,
        AdamWOptimizer optimizer)
    {
        var state = TrainerState.Read(Path.Combine(folder, TrainerState.FileName));
        PretrainedModel.LoadWeightsInto(model, folder);
        LoadOptimizer(Path.Combine(folder, OptimizerFileName), model, parameters, optimizer);
        return state;
    }

    /// <summary>
    /// The AdamW moments under the Hugging Face names and layouts of the model's state dict (a projection's moments split
    /// and transposed as its weight is in model.safetensors), each with its step count in the metadata.
    /// </summary>
    private static void SaveOptimizer(string path, LlamaForCausalLM model, IReadOnlyList<(string Name, Parameter Parameter)> parameters, AdamWOptimizer optimizer)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < parameters.Count; i++)
        {
            var (step, expAvg, expAvgSq) = optimizer.StateAt(i);
            var averages = model.ToHuggingFace(parameters[i].Name, expAvg).ToList();
            var squares = model.ToHuggingFace(parameters[i].Name, expAvgSq).ToList();
            for (int p = 0; p < averages.Count; p++)
            {
                tensors.Add(new(averages[p].Name + ".exp_avg", averages[p].Tensor));
                tensors.Add(new(squares[p].Name + ".exp_avg_sq", squares[p].Tensor));
                metadata[averages[p].Name + ".step"] = step.ToString(CultureInfo.InvariantCulture);
            }
        }

        SafetensorsWriter.Write(path, tensors, storeAs: null, metadata);
    }

    /// <summary>Reads what <see cref="SaveOptimizer"/> wrote, each parameter's moments assembled from its Hugging Face parts (which must agree on the step).</summary>
    private static void LoadOptimizer(string path, LlamaForCausalLM model, IReadOnlyList<(string Name, Parameter Parameter)> parameters, AdamWOptimizer optimizer)
    {
        var file = SafetensorsFile.Open(path);
        using var noGrad = no_grad();
        for (int i = 0; i < parameters.Count; i++)
        {
            using var scope = NewDisposeScope();
            var parts = model.HuggingFaceParts(parameters[i].Name);
            long? step = null;
            foreach (var (name, _, _) in parts)
            {
                if (!file.Metadata.TryGetValue(name + ".step", out var stepText) || !long.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out long partStep))
                {
                    throw new CheckpointException(path, $"no step count for parameter '{name}'");
                }

                if (step is { } first && first != partStep)
                {
                    throw new CheckpointException(path, $"parameter '{name}' has step count {partStep}, but '{parts[0].Name}', stored with it in one tensor, has {first}");
                }

                step = partStep;
            }

            Tensor Read(string suffix) => LlamaForCausalLM.FromHuggingFace(parameters[i].Name, parts.Select(p => file.ReadTensor(p.Name + suffix)).ToList());
            optimizer.SetState(i, step!.Value, Read(".exp_avg"), Read(".exp_avg_sq"));
        }
    }

    private static IEnumerable<(int Step, string Path)> List(string outputDirectory)
    {
        foreach (var dir in Directory.EnumerateDirectories(outputDirectory, Prefix + "*"))
        {
            var name = Path.GetFileName(dir);
            if (int.TryParse(name.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int step)
                && File.Exists(Path.Combine(dir, TrainerState.FileName)))
            {
                yield return (step, dir);
            }
        }
    }

    /// <summary>Deletes all but the newest <paramref name="keep"/> checkpoints (0 keeps all) and leftover temporary folders.</summary>
    private static void Prune(string outputDirectory, int keep)
    {
        foreach (var temp in Directory.EnumerateDirectories(outputDirectory, TempPrefix + "*" + TempSuffix))
        {
            TryDelete(temp);
        }

        if (keep <= 0)
        {
            return;
        }

        foreach (var (_, path) in List(outputDirectory).OrderByDescending(c => c.Step).Skip(keep).ToList())
        {
            TryDelete(path);
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover folder is deleted by the next save.
        }
    }
}
