using System;
using TorchSharp;

namespace Cllm.Core;

/// <summary>How <see cref="PretrainedModel.Load"/> places and checks a model (Hugging Face <c>from_pretrained</c> kwargs).</summary>
public sealed record PretrainedModelOptions
{
    /// <summary>Weight, KV-cache and compute dtype (Float32, Float16 or BFloat16); null = the checkpoint's own (<c>torch_dtype</c>, else its safetensors).</summary>
    public torch.ScalarType? DType { get; init; } = torch.ScalarType.Float32;

    /// <summary>"cpu", "cuda" or "cuda:i"; a device that is not present fails before anything is read.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>libtorch intra-op threads (process-wide), set before loading; null = leave them (see <see cref="SingleThreadForSmallModels"/>).</summary>
    public int? Threads { get; init; }

    /// <summary>
    /// With <see cref="Threads"/> null, CPU models below <see cref="PretrainedModel.SingleThreadBelowParameters"/> parameters get
    /// one intra-op thread: their forwards are dominated by per-op overhead, which a second thread only adds to.
    /// </summary>
    public bool SingleThreadForSmallModels { get; init; } = true;

    /// <summary>Load the tokenizer and chat template too (false for weights-only uses such as training).</summary>
    public bool LoadTokenizer { get; init; } = true;

    /// <summary>
    /// Weight-only quantization of the attention and MLP projections (CPU only, inference only): each weight is quantized as
    /// it is read, so the float checkpoint never sits in memory whole. Embeddings, norms and the classifier stay in <see cref="DType"/>.
    /// </summary>
    public WeightQuantization Quantization { get; init; } = WeightQuantization.None;

    /// <summary>Called with the resolved dtype before anything is allocated; throw to refuse it (e.g. float16 training).</summary>
    public Action<torch.ScalarType>? CheckDType { get; init; }

    /// <summary>Checks the settings that need no file.</summary>
    /// <exception cref="ArgumentException">
    /// A dtype other than Float32/Float16/BFloat16, fewer than one thread, quantization off the CPU, Int4A8 on a CPU
    /// without AVX2 and FMA, or BFloat16 where its native kernel does not run.
    /// </exception>
    public void Validate() => Validate(Int4A8Kernel.IsSupported, BFloat16Kernel.Missing);

    /// <summary>
    /// <see cref="Validate()"/> with the CPU's int4a8 support and why the packed bfloat16 kernel does not run (null: it
    /// runs) given (tests check a CPU without them).
    /// </summary>
    internal void Validate(bool int4A8Supported, string? bfloat16Missing)
    {
        if (DType is { } dtype && dtype is not (torch.ScalarType.Float32 or torch.ScalarType.Float16 or torch.ScalarType.BFloat16))
        {
            throw new ArgumentException($"dtype must be Float32, Float16 or BFloat16, got {dtype}.", nameof(DType));
        }

        if (Threads is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "threads must be at least 1.");
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(Device);
        if (!Enum.IsDefined(Quantization))
        {
            throw new ArgumentOutOfRangeException(nameof(Quantization), Quantization, "expected None, Int8, Int4, Int4A8 or BFloat16.");
        }

        if (Quantization != WeightQuantization.None && !Device.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"{Quantization} quantization runs on the CPU only; the device is '{Device}'.", nameof(Quantization));
        }

        if (Quantization == WeightQuantization.Int4A8 && !int4A8Supported)
        {
            throw new ArgumentException("Int4A8 quantization needs an x64 CPU with AVX2 and FMA; use Int4 or Int8 on this machine.", nameof(Quantization));
        }

        if (Quantization == WeightQuantization.BFloat16 && bfloat16Missing is not null)
        {
            throw new ArgumentException($"BFloat16 weight packing needs Cllm's native kernel with AVX-512 BF16 ({bfloat16Missing}); load with DType BFloat16 and no quantization instead.", nameof(Quantization));
        }
    }
}
