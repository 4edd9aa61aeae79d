using System;
using System.Linq;
using TorchSharp;

namespace Cllm.Core;

/// <summary>
/// The floating dtype a checkpoint is stored in: <c>torch_dtype</c> of config.json when it names one, otherwise the
/// floating type holding the most bytes in the safetensors headers (only the headers are read).
/// </summary>
internal static class CheckpointDType
{
    /// <summary>The names <c>--dtype</c> and <c>torch_dtype</c> accept, for messages.</summary>
    public const string Names = "float32, float16, bfloat16";

    /// <summary>float32/float, float16/half, bfloat16 (as in torch_dtype, with or without "torch."); null for anything else.</summary>
    public static torch.ScalarType? Parse(string? name) => name?.Trim().ToLowerInvariant().Replace("torch.", string.Empty, StringComparison.Ordinal) switch
    {
        "float32" or "float" or "fp32" => torch.ScalarType.Float32,
        "float16" or "half" or "fp16" => torch.ScalarType.Float16,
        "bfloat16" or "bf16" => torch.ScalarType.BFloat16,
        _ => null,
    };

    /// <summary>
    /// Parameters from which <c>--dtype auto</c> loads bfloat16 on a CPU with native bfloat16. Measured on grown
    /// sql-cllm shapes, 2 threads (docs/growth.md): a one-token bfloat16 forward took 1.67x float32's at 0.10B and
    /// 1.49x at 0.41B, but 0.72x at 0.97B, where the step is memory-bound; 16-token blocks were faster in bfloat16
    /// from 0.10B (0.52x). The threshold lies between 0.41B and 0.97B so that autoregressive decoding never slows.
    /// </summary>
    public const long AutoBFloat16Parameters = 500_000_000;

    /// <summary>
    /// <c>--dtype auto</c>: bfloat16 on a CPU with native bfloat16 (<paramref name="nativeBFloat16"/>) when the model
    /// has at least <see cref="AutoBFloat16Parameters"/> parameters, else the checkpoint's own dtype
    /// (<see cref="Detect"/>); with the reason, one line for the user.
    /// </summary>
    public static (torch.ScalarType Type, string Reason) ChooseAuto(HfModelDirectory directory, LlamaConfig config, bool onCpu, string? nativeBFloat16)
    {
        ArgumentNullException.ThrowIfNull(config);
        long parameters = LlamaTensorShapes.Expected(config).Sum(e => e.Shape.Aggregate(1L, (product, size) => product * size));
        string size = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{parameters / 1e6:F1}M parameters");
        string threshold = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{AutoBFloat16Parameters / 1e6:F0}M");
        if (onCpu && nativeBFloat16 is not null && parameters >= AutoBFloat16Parameters)
        {
            return (torch.ScalarType.BFloat16, $"bfloat16 (CPU has native bf16: {nativeBFloat16}; {size} ≥ {threshold}, so decoding is memory-bound)");
        }

        var own = Detect(directory, config);
        string why = !onCpu ? "not a CPU"
            : nativeBFloat16 is null ? "this CPU has no native bf16"
            : $"{size} < {threshold}";
        return (own, $"{own.ToString().ToLowerInvariant()} (the checkpoint's own; bfloat16 needs a CPU with native bf16 and ≥ {threshold} parameters: {why})");
    }

    /// <summary>The checkpoint's own dtype (Float32, Float16 or BFloat16; a Float64 file counts as Float32).</summary>
    /// <exception cref="CheckpointException">The weights hold no floating tensor.</exception>
    public static torch.ScalarType Detect(HfModelDirectory directory, LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(config);
        if (Parse(config.TorchDtype) is { } named)
        {
            return named;
        }

        var byType = directory.WeightFiles
            .SelectMany(path => SafetensorsFile.Open(path).Tensors.Values)
            .Where(entry => SafetensorsDtypes.IsFloat(entry.ScalarType))
            .GroupBy(entry => entry.ScalarType)
            .Select(group => (Type: group.Key, Bytes: group.Sum(entry => entry.ShapeArray.Aggregate(1L, (product, size) => product * size) * SafetensorsDtypes.ElementSize(group.Key))))
            .OrderByDescending(pair => pair.Bytes)
            .ToList();
        if (byType.Count == 0)
        {
            throw new CheckpointException(directory.WeightsPath, "holds no floating tensor, so its dtype cannot be detected; pass an explicit dtype");
        }

        return byType[0].Type == torch.ScalarType.Float64 ? torch.ScalarType.Float32 : byType[0].Type;
    }
}
