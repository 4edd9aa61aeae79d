using System;
using System.CommandLine;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.CommandLine.Commands;

/// <summary>The model placement options of generate, bench, collect and train: --dtype and --device; --quantize for the inference commands.</summary>
internal sealed class PlacementArguments
{
    public const string Auto = "auto";

    public Option<string> DType { get; } = new("--dtype")
    {
        Description = "Weight, KV-cache and compute dtype: float32 | float16 | bfloat16 | auto (bfloat16 on a CPU with native bf16 for models of ≥ 500M parameters, else the checkpoint's own: config.json torch_dtype, else its safetensors; the choice is printed). Logits are float32 either way",
        DefaultValueFactory = _ => "float32",
    };

    public Option<string> Device { get; } = new("--device") { Description = "cpu | cuda | cuda:<index> (CUDA needs the CUDA libtorch package)", DefaultValueFactory = _ => "cpu" };

    public Option<string> Quantize { get; } = new("--quantize")
    {
        Description = "none | int8 | int4 | int4a8 | bf16: quantization of the attention and MLP projections on CPU (int8 weights per output channel; int4 weights per group of 128/64/32 inputs; int4a8: int4 weights per group of 128/64 and 8-bit activations in integer dot products, the fastest for Jacobi blocks; int8 where the shape does not fit; inputs not a multiple of 16 stay unquantized; bf16: bfloat16 weights packed for AVX-512 BF16, lossless for a bfloat16 checkpoint, on CPUs with it). Embeddings, norms and the classifier keep --dtype. See docs/quantization.md",
        DefaultValueFactory = _ => "none",
    };

    private bool _quantizeAdded;

    /// <summary>Adds --dtype and --device, and --quantize when <paramref name="quantize"/> (inference commands only).</summary>
    public void AddTo(Command command, bool quantize = false)
    {
        command.Options.Add(DType);
        command.Options.Add(Device);
        if (quantize)
        {
            command.Options.Add(Quantize);
            _quantizeAdded = true;
        }
    }

    /// <summary>The requested quantization (None when --quantize is not an option of the command). Checked before anything is loaded.</summary>
    public WeightQuantization RequestedQuantization(ParseResult parse)
    {
        if (!_quantizeAdded)
        {
            return WeightQuantization.None;
        }

        var text = parse.GetValue(Quantize)!.Trim();
        return text.ToUpperInvariant() switch
        {
            "NONE" => WeightQuantization.None,
            "INT8" => WeightQuantization.Int8,
            "INT4" => WeightQuantization.Int4,
            "INT4A8" => WeightQuantization.Int4A8,
            "BF16" or "BFLOAT16" => WeightQuantization.BFloat16,
            _ => throw new ArgumentException($"--quantize: '{text}' is not one of none, int8, int4, int4a8, bf16."),
        };
    }

    /// <summary>The requested dtype, or null for auto. Checked before anything is loaded.</summary>
    public torch.ScalarType? RequestedDType(ParseResult parse)
    {
        var text = parse.GetValue(DType)!;
        return string.Equals(text.Trim(), Auto, StringComparison.OrdinalIgnoreCase)
            ? null
            : CheckpointDType.Parse(text) ?? throw new ArgumentException($"--dtype: '{text}' is not one of {CheckpointDType.Names}, {Auto}.");
    }

    /// <summary>The device; a CUDA device that is not present fails here with one line.</summary>
    public torch.Device ResolveDevice(ParseResult parse)
    {
        try
        {
            return ModelDevice.Parse(parse.GetValue(Device)!);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"--device: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The dtype to load <paramref name="modelFolder"/> in: the requested one, or for auto the choice of
    /// <see cref="CheckpointDType.ChooseAuto"/>, printed to stderr with its reason.
    /// </summary>
    private torch.ScalarType? LoadDType(ParseResult parse, string modelFolder, torch.Device device)
    {
        if (RequestedDType(parse) is { } requested)
        {
            return requested;
        }

        var directory = HfModelDirectory.Open(modelFolder);
        var (type, reason) = CheckpointDType.ChooseAuto(directory, directory.ReadConfig(), device.type == DeviceType.CPU, NativeBFloat16.Evidence);
        Console.Error.WriteLine($"--dtype auto: {reason}");
        return type;
    }

    /// <summary>Sets dtype and device on <paramref name="builder"/> for <paramref name="modelFolder"/> (validating both first).</summary>
    public CllmBuilder ApplyTo(ParseResult parse, CllmBuilder builder, string modelFolder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var device = ResolveDevice(parse);
        var quantization = CheckQuantization(parse, device);
        var dtype = LoadDType(parse, modelFolder, device);
        builder = dtype is { } type ? builder.WithDType(type) : builder.WithCheckpointDType();
        return builder.OnDevice(parse.GetValue(Device)!).WithQuantization(quantization);
    }

    /// <summary>Loader options for <paramref name="modelFolder"/>: dtype, device and threads (dtype and device validated first).</summary>
    public PretrainedModelOptions LoaderOptions(ParseResult parse, string modelFolder, int? threads = null)
    {
        var device = ResolveDevice(parse);
        var quantization = CheckQuantization(parse, device);
        var dtype = LoadDType(parse, modelFolder, device);
        return new PretrainedModelOptions { DType = dtype, Device = parse.GetValue(Device)!, Threads = threads, Quantization = quantization };
    }

    private WeightQuantization CheckQuantization(ParseResult parse, torch.Device device)
    {
        var quantization = RequestedQuantization(parse);
        if (quantization != WeightQuantization.None && device.type != DeviceType.CPU)
        {
            throw new ArgumentException($"--quantize {parse.GetValue(Quantize)!.Trim()} runs on the CPU only; drop --device {parse.GetValue(Device)} or the quantization.");
        }

        return quantization;
    }
}
