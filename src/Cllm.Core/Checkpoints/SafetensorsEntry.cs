using System;
using System.Collections.Generic;
using TorchSharp;

namespace Cllm.Core;

/// <summary>
/// One tensor as a safetensors header describes it. The entry has been validated: its dtype is supported and
/// its byte range matches its shape and lies inside the file.
/// </summary>
internal sealed class SafetensorsEntry
{
    internal SafetensorsEntry(string name, string dtype, torch.ScalarType scalarType, long[] shape, long begin, long end)
    {
        Name = name;
        Dtype = dtype;
        ScalarType = scalarType;
        ShapeArray = shape;
        Shape = Array.AsReadOnly(shape);
        Begin = begin;
        End = end;
    }

    /// <summary>The tensor name, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The dtype as written in the file: F32, F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL.</summary>
    public string Dtype { get; }

    /// <summary>The TorchSharp type of <see cref="Dtype"/>.</summary>
    public torch.ScalarType ScalarType { get; }

    /// <summary>The shape; empty for a scalar.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Start of the tensor's bytes, relative to the start of the data section (after the header).</summary>
    public long Begin { get; }

    /// <summary>End (exclusive) of the tensor's bytes, relative to the start of the data section.</summary>
    public long End { get; }

    /// <summary>Size of the tensor's data in bytes.</summary>
    public long ByteLength => End - Begin;

    /// <summary>A private copy of the shape, as TorchSharp wants it.</summary>
    internal long[] ShapeArray { get; }

    /// <summary>The shape as <c>[a, b]</c>, for messages.</summary>
    internal string ShapeText => FormatShape(ShapeArray);

    internal static string FormatShape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";
}
