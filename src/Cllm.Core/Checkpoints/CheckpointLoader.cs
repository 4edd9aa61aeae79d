using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;

namespace Cllm.Core;

/// <summary>
/// Copies the tensors of a Hugging Face model folder into a TorchSharp module whose <c>state_dict()</c> names are the
/// Hugging Face names (<c>model.layers.0.self_attn.q_proj.weight</c>, …).
/// </summary>
internal static class CheckpointLoader
{
    private const int ListedNames = 10;

    private const string TiedClassifier = "lm_head.weight";

    /// <summary>
    /// Loads every entry of <c>model.state_dict()</c> from the weights of <paramref name="directory"/>, by exact name.
    /// All names, shapes and dtypes are checked before the first copy, so a rejected checkpoint leaves the model
    /// untouched. Floating tensors (F16, BF16, F32, F64) are converted to the parameter's dtype (and moved to its
    /// device) on copy; other tensors must match the parameter's dtype exactly.
    /// </summary>
    /// <param name="model">The module to fill; its parameters keep their dtype and device.</param>
    /// <param name="directory">The resolved model folder.</param>
    /// <param name="tiedEmbeddings">
    /// The model shares <c>model.embed_tokens.weight</c> with its classifier. <c>lm_head.weight</c> is then neither
    /// required nor loaded: one in the file is ignored, and one in the model (an alias of the embedding) is left to
    /// follow the embedding.
    /// </param>
    /// <remarks>
    /// Tensors named <c>*rotary_emb.inv_freq</c> (stored by older checkpoints) are never loaded or required: the
    /// model computes them from the config. Tensors are read one at a time, each under its own dispose scope.
    /// </remarks>
    /// <exception cref="CheckpointException">
    /// Tensors missing from the files or present in them but not in the model, a shape or dtype mismatch, an index
    /// that disagrees with its shards, an unreadable or invalid file, or a floating tensor holding NaN or infinite
    /// values (the model may then hold some tensors already copied).
    /// </exception>
    public static void LoadWeights(torch.nn.Module model, HfModelDirectory directory, bool tiedEmbeddings)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(directory);

        var sources = IndexTensors(directory);
        var targets = model.state_dict()
            .Where(kv => !IsRotaryCache(kv.Key) && !(tiedEmbeddings && kv.Key == TiedClassifier))
            .ToList();

        CheckNames(directory, sources, targets.Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal), tiedEmbeddings);
        CheckShapesAndTypes(sources, targets);

        using var noGrad = torch.no_grad();
        int quantizedTensors = 0;
        foreach (var (name, target) in targets)
        {
            var (file, _) = sources[name];
            if (target.device.type == DeviceType.META)
            {
                // A quantized projection: its float weight exists only here, a block of rows at a time.
                if (model is not LlamaForCausalLM llama)
                {
                    throw new CheckpointException(file.Path, $"tensor '{name}' has no storage in the model (a meta-device parameter)");
                }

                long rows = file.Tensors[name].Shape[0];
                for (long start = 0; start < rows; start += QuantizedWeightBuilder.BlockRows)
                {
                    using var blockScope = torch.NewDisposeScope();
                    var block = Finite(file, name, file.ReadRows(name, start, Math.Min(QuantizedWeightBuilder.BlockRows, rows - start)));
                    llama.LoadQuantizedWeight(name, block, start);
                }

                if (++quantizedTensors % TrimEvery == 0)
                {
                    NativeHeap.Trim();                                                         // the blocks' freed pages
                }

                continue;
            }

            using var scope = torch.NewDisposeScope();
            target.copy_(Finite(file, name, file.ReadTensor(name)));
        }
    }

    /// <summary>Quantized tensors loaded between two trims of the C heap (<see cref="NativeHeap"/>).</summary>
    private const int TrimEvery = 8;

    /// <summary><paramref name="tensor"/> (of <paramref name="name"/> in <paramref name="file"/>), refused when it holds NaN or infinite values.</summary>
    private static torch.Tensor Finite(SafetensorsFile file, string name, torch.Tensor tensor)
    {
        if (torch.is_floating_point(tensor.dtype) && !IsFinite(tensor))
        {
            // NaN or infinite weights would only surface later as garbage output.
            throw new CheckpointException(file.Path, $"tensor '{name}' holds NaN or infinite values; the weights are corrupt");
        }

        return tensor;
    }

    /// <summary>
    /// Checks a checkpoint against its config BEFORE the model is built, so that a wrong size in config.json fails in
    /// milliseconds with a clear line instead of allocating gigabytes first: every tensor name and shape the config
    /// implies must be in the safetensors headers (only the headers are read), and the memory the model will take —
    /// weights in <paramref name="dtype"/> and the rotary tables over <c>max_position_embeddings</c> + headroom — must fit
    /// in the memory available to the process. The KV cache is not counted: it is sized per request (prompt + new
    /// tokens), so a long-context model that serves short requests must load.
    /// </summary>
    /// <param name="directory">The resolved model folder.</param>
    /// <param name="config">The config the model will be built from.</param>
    /// <param name="dtype">The parameter dtype the model will be built with.</param>
    /// <param name="availableBytes">Memory available; null = <c>GC.GetGCMemoryInfo().TotalAvailableMemoryBytes</c> (physical memory or the container limit).</param>
    /// <exception cref="CheckpointException">
    /// The config is invalid, a tensor is missing, unexpected or of another shape than the config implies, or the
    /// estimate exceeds the available memory.
    /// </exception>
    /// <param name="quantization">Weight quantization of the projections (their weights are counted at 1 byte for int8, 0.75 for int4 with its scales).</param>
    public static void CheckBeforeBuilding(HfModelDirectory directory, LlamaConfig config, torch.ScalarType dtype = torch.ScalarType.Float32, long? availableBytes = null, WeightQuantization quantization = WeightQuantization.None)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(config);
        try
        {
            config.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new CheckpointException(directory.ConfigPath, ex.Message.TrimEnd('.'), ex);
        }

        var sources = IndexTensors(directory);
        var expected = LlamaTensorShapes.Expected(config).ToList();
        try
        {
            CheckNames(directory, sources, expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal), config.TieWordEmbeddings);
        }
        catch (CheckpointException ex)
        {
            throw new CheckpointException(directory.ConfigPath, $"does not match the weights in {System.IO.Path.GetFileName(directory.WeightsPath)}: {ex.Problem}", ex);
        }

        foreach (var (name, shape, fields) in expected)
        {
            var (file, entry) = sources[name];
            if (!shape.SequenceEqual(entry.ShapeArray))
            {
                throw new CheckpointException(directory.ConfigPath,
                    $"does not match the weights: tensor '{name}' is {entry.ShapeText} in {System.IO.Path.GetFileName(file.Path)}, but the config ({fields}) makes it {SafetensorsEntry.FormatShape(shape)}");
            }
        }

        int elementSize = SafetensorsDtypes.ElementSize(dtype);
        double projectionSize = quantization switch
        {
            WeightQuantization.Int8 => 1.0,
            WeightQuantization.Int4 => 0.75,
            WeightQuantization.Int4A8 => 0.5625,                                                       // half a byte plus two float32 per group of 128 (64: 0.625)
            WeightQuantization.BFloat16 => 2.0,
            _ => elementSize,
        };
        double weights = expected.Sum(e => e.Shape.Aggregate(1.0, (product, size) => product * size) * (IsProjection(e.Name) ? projectionSize : elementSize));
        double positions = (double)config.MaxPositionEmbeddings + LlamaForCausalLM.RopeHeadroom;
        double rotary = positions * config.HeadDim * (2.0 * elementSize + 32);          // two tables + float64 temporaries while building them
        double needed = weights + rotary;
        long available = availableBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (available > 0 && needed > available)
        {
            throw new CheckpointException(directory.ConfigPath, FormattableString.Invariant(
                $"the model needs about {Gb(needed)} (weights {Gb(weights)}, rotary tables for max_position_embeddings {config.MaxPositionEmbeddings} {Gb(rotary)}) but only {Gb(available)} of memory is available; check the sizes in config.json"));
        }
    }

    private static string Gb(double bytes) => bytes >= 1e9
        ? (bytes / 1e9).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " GB"
        : (bytes / 1e6).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " MB";

    /// <summary>Every tensor of every weight file, by name, checked against the index when there is one.</summary>
    private static Dictionary<string, (SafetensorsFile File, SafetensorsEntry Entry)> IndexTensors(HfModelDirectory directory)
    {
        var sources = new Dictionary<string, (SafetensorsFile File, SafetensorsEntry Entry)>(StringComparer.Ordinal);
        foreach (var path in directory.WeightFiles)
        {
            var file = SafetensorsFile.Open(path);
            foreach (var (name, entry) in file.Tensors)
            {
                if (sources.TryGetValue(name, out var other))
                {
                    throw new CheckpointException(file.Path, $"tensor '{name}' is also stored in {System.IO.Path.GetFileName(other.File.Path)}");
                }

                sources.Add(name, (file, entry));
            }
        }

        if (directory.WeightMap is { } map)
        {
            foreach (var (name, shard) in map)
            {
                if (!sources.TryGetValue(name, out var source))
                {
                    throw new CheckpointException(directory.WeightsPath, $"weight_map puts tensor '{name}' in {System.IO.Path.GetFileName(shard)}, but no shard holds it");
                }

                if (!string.Equals(source.File.Path, shard, StringComparison.Ordinal))
                {
                    throw new CheckpointException(directory.WeightsPath, $"weight_map puts tensor '{name}' in {System.IO.Path.GetFileName(shard)}, but it is stored in {System.IO.Path.GetFileName(source.File.Path)}");
                }
            }
        }

        return sources;
    }

    private static void CheckNames(
        HfModelDirectory directory,
        Dictionary<string, (SafetensorsFile File, SafetensorsEntry Entry)> sources,
        HashSet<string> expected,
        bool tiedEmbeddings)
    {
        var missing = expected.Where(name => !sources.ContainsKey(name)).OrderBy(name => name, StringComparer.Ordinal).ToList();
        var unexpected = sources.Keys
            .Where(name => !expected.Contains(name) && !IsRotaryCache(name) && !(tiedEmbeddings && name == TiedClassifier))
            .OrderBy(name => name, StringComparer.Ordinal)
            .ToList();
        if (missing.Count == 0 && unexpected.Count == 0)
        {
            return;
        }

        var problems = new List<string>();
        if (missing.Count > 0)
        {
            var hint = missing.Contains("lm_head.weight")
                ? " (a checkpoint without lm_head.weight has tied embeddings: load it with tiedEmbeddings: true into a tied model)"
                : string.Empty;
            problems.Add($"{missing.Count} tensor(s) the model needs are missing: {List(missing)}{hint}");
        }

        if (unexpected.Count > 0)
        {
            var hint = unexpected.Contains("lm_head.weight")
                ? " (a model that ties its classifier to the embeddings should be loaded with tiedEmbeddings: true)"
                : string.Empty;
            problems.Add($"{unexpected.Count} tensor(s) in the checkpoint are unexpected (the model has no such parameter): {List(unexpected)}{hint}");
        }

        throw new CheckpointException(directory.WeightsPath, string.Join("; ", problems));
    }

    private static void CheckShapesAndTypes(
        Dictionary<string, (SafetensorsFile File, SafetensorsEntry Entry)> sources,
        List<KeyValuePair<string, torch.Tensor>> targets)
    {
        foreach (var (name, target) in targets)
        {
            var (file, entry) = sources[name];
            var modelShape = target.shape;
            if (!modelShape.SequenceEqual(entry.ShapeArray))
            {
                throw new CheckpointException(file.Path, $"tensor '{name}' has shape {entry.ShapeText} in the file but {SafetensorsEntry.FormatShape(modelShape)} in the model");
            }

            var targetIsFloat = torch.is_floating_point(target.dtype);
            if (targetIsFloat ? !SafetensorsDtypes.IsFloat(entry.ScalarType) : entry.ScalarType != target.dtype)
            {
                throw new CheckpointException(file.Path, $"tensor '{name}' is {entry.Dtype} in the file, which cannot be loaded into the model's {target.dtype} {(targetIsFloat ? "parameter" : "tensor")}");
            }
        }
    }

    /// <summary>
    /// True when every value is finite. One float32 sum (a vectorised pass, about 4× cheaper than isfinite().all() on
    /// CPU): a finite sum proves every value finite; only a non-finite sum (bad values, or an overflow of huge ones)
    /// pays for the exact check.
    /// </summary>
    private static bool IsFinite(torch.Tensor tensor)
    {
        using var sum = tensor.sum(type: torch.ScalarType.Float32);
        if (float.IsFinite(sum.item<float>()))
        {
            return true;
        }

        using var finite = tensor.isfinite().all();
        return finite.item<bool>();
    }

    /// <summary>Attention and MLP projection weights (the ones quantization applies to).</summary>
    private static bool IsProjection(string name) => name.StartsWith("model.layers.", StringComparison.Ordinal) && name.EndsWith("_proj.weight", StringComparison.Ordinal);

    /// <summary>Rotary-embedding caches are derived from the config, never loaded.</summary>
    private static bool IsRotaryCache(string name) =>
        name == "rotary_emb.inv_freq" || name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);

    private static string List(IReadOnlyCollection<string> names) =>
        string.Join(", ", names.Take(ListedNames)) + (names.Count > ListedNames ? $", … ({names.Count - ListedNames} more)" : string.Empty);
}
