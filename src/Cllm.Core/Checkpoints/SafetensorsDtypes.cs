using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using TorchSharp;

namespace Cllm.Core;

/// <summary>
/// The safetensors dtype names this library reads and writes, and their TorchSharp equivalents.
/// </summary>
internal static class SafetensorsDtypes
{
    private static readonly Dictionary<string, torch.ScalarType> ByName = new(StringComparer.Ordinal)
    {
        ["F64"] = torch.ScalarType.Float64,
        ["F32"] = torch.ScalarType.Float32,
        ["F16"] = torch.ScalarType.Float16,
        ["BF16"] = torch.ScalarType.BFloat16,
        ["I64"] = torch.ScalarType.Int64,
        ["I32"] = torch.ScalarType.Int32,
        ["I16"] = torch.ScalarType.Int16,
        ["I8"] = torch.ScalarType.Int8,
        ["U8"] = torch.ScalarType.Byte,
        ["BOOL"] = torch.ScalarType.Bool,
    };

    /// <summary>The supported names, for error messages.</summary>
    public static string SupportedList => "F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL";

    public static bool TryParse(string name, out torch.ScalarType type) => ByName.TryGetValue(name, out type);

    public static bool TryGetName(torch.ScalarType type, [NotNullWhen(true)] out string? name)
    {
        name = type switch
        {
            torch.ScalarType.Float64 => "F64",
            torch.ScalarType.Float32 => "F32",
            torch.ScalarType.Float16 => "F16",
            torch.ScalarType.BFloat16 => "BF16",
            torch.ScalarType.Int64 => "I64",
            torch.ScalarType.Int32 => "I32",
            torch.ScalarType.Int16 => "I16",
            torch.ScalarType.Int8 => "I8",
            torch.ScalarType.Byte => "U8",
            torch.ScalarType.Bool => "BOOL",
            _ => null,
        };
        return name is not null;
    }

    /// <summary>Bytes per element of a supported type.</summary>
    public static int ElementSize(torch.ScalarType type) => type switch
    {
        torch.ScalarType.Float64 or torch.ScalarType.Int64 => 8,
        torch.ScalarType.Float32 or torch.ScalarType.Int32 => 4,
        torch.ScalarType.Float16 or torch.ScalarType.BFloat16 or torch.ScalarType.Int16 => 2,
        torch.ScalarType.Int8 or torch.ScalarType.Byte or torch.ScalarType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a safetensors dtype"),
    };

    /// <summary>Float64, Float32, Float16 or BFloat16.</summary>
    public static bool IsFloat(torch.ScalarType type) =>
        type is torch.ScalarType.Float64 or torch.ScalarType.Float32 or torch.ScalarType.Float16 or torch.ScalarType.BFloat16;
}
