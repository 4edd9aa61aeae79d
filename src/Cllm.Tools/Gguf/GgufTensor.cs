using System;
using System.Collections.Generic;

namespace Cllm.Tools;

/// <summary>
/// One tensor of a GGUF file: its name, ggml shape (ne: fastest dimension first), type and encoded bytes. An exported
/// tensor is encoded only when it is written (<see cref="Data"/> runs the encoder each time it is read), so exporting a
/// model holds one tensor at a time, not the whole file.
/// </summary>
internal sealed class GgufTensor
{
    private readonly Func<byte[]> _encode;

    /// <param name="name">llama.cpp tensor name, e.g. <c>blk.0.attn_q.weight</c>.</param>
    /// <param name="dimensions">ggml ne order: a PyTorch [rows, cols] matrix is [cols, rows].</param>
    /// <param name="type">Storage type.</param>
    /// <param name="data">Encoded bytes (little endian).</param>
    public GgufTensor(string name, IReadOnlyList<long> dimensions, GgufTensorType type, byte[] data)
        : this(name, dimensions, type, data.LongLength, () => data)
    {
    }

    /// <param name="name">llama.cpp tensor name.</param>
    /// <param name="dimensions">ggml ne order.</param>
    /// <param name="type">Storage type.</param>
    /// <param name="byteLength">The encoded size, known before encoding (the file's header lists every offset first).</param>
    /// <param name="encode">Produces the encoded bytes, exactly <paramref name="byteLength"/> of them.</param>
    public GgufTensor(string name, IReadOnlyList<long> dimensions, GgufTensorType type, long byteLength, Func<byte[]> encode)
    {
        Name = name;
        Dimensions = dimensions;
        Type = type;
        ByteLength = byteLength;
        _encode = encode;
    }

    public string Name { get; }

    public IReadOnlyList<long> Dimensions { get; }

    public GgufTensorType Type { get; }

    /// <summary>Encoded size in bytes.</summary>
    public long ByteLength { get; }

    /// <summary>The encoded bytes (little endian).</summary>
    public byte[] Data
    {
        get
        {
            var data = _encode();
            if (data.LongLength != ByteLength)
            {
                throw new InvalidOperationException($"GGUF tensor '{Name}' encoded to {data.LongLength} bytes, not the {ByteLength} its header states.");
            }

            return data;
        }
    }
}
