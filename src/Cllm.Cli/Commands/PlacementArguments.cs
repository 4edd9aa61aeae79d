using System;
using System.CommandLine;
using Cllm.Core;
using TorchSharp;

namespace Cllm.Cli.Commands;

/// <summary>The model placement options of generate, bench, collect and train: --dtype and --device.</summary>
internal sealed class PlacementArguments
{
    public const string Auto = "auto";

    public Option<string> DType { get; } = new("--dtype")
    {
        Description = "Weight, KV-cache and compute dtype: float32 | float16 | bfloat16 | auto (the checkpoint's own: config.json torch_dtype, else its safetensors). Logits are float32 either way",
        DefaultValueFactory = _ => "float32",
    };

    public Option<string> Device { get; } = new("--device") { Description = "cpu | cuda | cuda:<index> (CUDA needs the CUDA libtorch package)", DefaultValueFactory = _ => "cpu" };

    public void AddTo(Command command)
    {
        command.Options.Add(DType);
        command.Options.Add(Device);
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

    /// <summary>Sets dtype and device on <paramref name="builder"/> (validating both first).</summary>
    public CllmBuilder ApplyTo(ParseResult parse, CllmBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var dtype = RequestedDType(parse);
        ResolveDevice(parse);
        builder = dtype is { } type ? builder.WithDType(type) : builder.WithCheckpointDType();
        return builder.OnDevice(parse.GetValue(Device)!);
    }

    /// <summary>Loader options for dtype, device and threads (dtype and device validated first).</summary>
    public PretrainedModelOptions LoaderOptions(ParseResult parse, int? threads = null)
    {
        var dtype = RequestedDType(parse);
        ResolveDevice(parse);
        return new PretrainedModelOptions { DType = dtype, Device = parse.GetValue(Device)!, Threads = threads };
    }
}
