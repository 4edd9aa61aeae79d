using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Core;
using TorchSharp;

namespace Cllm.Benchmarks;

/// <summary>
/// The weight formats of the two sides: <c>--dtype</c> and <c>--quantize</c> (Cllm, one model per quantization) and
/// <c>--gguf-type</c> (llama.cpp, one GGUF per type), parsed before anything is loaded, and their row labels.
/// </summary>
internal static class PeerFormats
{
    /// <summary>float32 or bfloat16 (the dtype of Cllm's weights, KV cache and compute; embeddings and norms when quantized).</summary>
    public static torch.ScalarType ParseDType(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "float32" or "fp32" or "f32" => torch.ScalarType.Float32,
            "bfloat16" or "bf16" => torch.ScalarType.BFloat16,
            _ => throw new ArgumentException($"--dtype: '{text.Trim()}' is not one of float32, bfloat16."),
        };
    }

    /// <summary>A comma-separated list of none | int8 | int4 | int4a8 | bf16, each a Cllm model of its own; no repeats.</summary>
    public static IReadOnlyList<WeightQuantization> ParseQuantizations(string text) => ParseList<WeightQuantization>(text, "--quantize", "none, int8, int4, int4a8, bf16", name => name switch
    {
        "none" => WeightQuantization.None,
        "int8" => WeightQuantization.Int8,
        "int4" => WeightQuantization.Int4,
        "int4a8" => WeightQuantization.Int4A8,
        "bf16" => WeightQuantization.BFloat16,
        _ => null,
    });

    /// <summary>A comma-separated list of f32 | f16 | q8_0 | q4_0, each a GGUF of its own; no repeats.</summary>
    public static IReadOnlyList<LlamaWeightType> ParseGgufTypes(string text) => ParseList<LlamaWeightType>(text, "--gguf-type", "f32, f16, q8_0, q4_0", name => name switch
    {
        "f32" => LlamaWeightType.F32,
        "f16" => LlamaWeightType.F16,
        "q8_0" => LlamaWeightType.Q8_0,
        "q4_0" => LlamaWeightType.Q4_0,
        _ => null,
    });

    /// <summary>Row label of a Cllm model: <c>f32</c>, <c>bf16</c>, <c>bf16+int8</c>, ...</summary>
    public static string Label(torch.ScalarType dtype, WeightQuantization quantization)
    {
        string type = dtype == torch.ScalarType.BFloat16 ? "bf16" : "f32";
        return quantization switch
        {
            WeightQuantization.None => type,
            WeightQuantization.Int8 => type + "+int8",
            WeightQuantization.Int4 => type + "+int4",
            WeightQuantization.Int4A8 => type + "+int4a8",
            WeightQuantization.BFloat16 => type + "+bf16 packed",
            _ => throw new ArgumentOutOfRangeException(nameof(quantization), quantization, null),
        };
    }

    /// <summary>Row label of a GGUF type: <c>f32</c>, <c>f16</c>, <c>q8_0</c>, <c>q4_0</c>.</summary>
    public static string Label(LlamaWeightType type) => type.ToString().ToLowerInvariant();

    private static IReadOnlyList<T> ParseList<T>(string text, string flag, string allowed, Func<string, T?> parse)
        where T : struct
    {
        ArgumentNullException.ThrowIfNull(text);
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0)
        {
            throw new ArgumentException($"{flag}: give at least one of {allowed}.");
        }

        var values = new List<T>();
        foreach (var name in names)
        {
            var value = parse(name.ToLowerInvariant()) ?? throw new ArgumentException($"{flag}: '{name}' is not one of {allowed}.");
            if (values.Contains(value))
            {
                throw new ArgumentException($"{flag}: '{name}' is given twice.");
            }

            values.Add(value);
        }

        return values;
    }
}
