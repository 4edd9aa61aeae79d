using System;
using System.Buffers.Binary;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>Encodes float rows as ggml F32, F16 and Q8_0 bytes (little endian), as ggml's reference quantizer does.</summary>
internal static class GgufEncoding
{
    /// <summary>Values per Q8_0 block.</summary>
    public const int Q8BlockSize = 32;

    /// <summary>Bytes per Q8_0 block: an f16 scale then 32 signed bytes.</summary>
    public const int Q8BlockBytes = 2 + Q8BlockSize;

    /// <summary>Bytes of <paramref name="count"/> values encoded as <paramref name="type"/> (Q8_0: whole blocks of 32).</summary>
    public static long ByteLength(long count, GgufTensorType type) => type switch
    {
        GgufTensorType.F32 => count * 4,
        GgufTensorType.F16 => count * 2,
        GgufTensorType.Q8_0 => count / Q8BlockSize * Q8BlockBytes,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported GGUF tensor type"),
    };

    public static byte[] Encode(ReadOnlySpan<float> values, GgufTensorType type) => type switch
    {
        GgufTensorType.F32 => F32(values),
        GgufTensorType.F16 => F16(values),
        GgufTensorType.Q8_0 => Q8_0(values),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported GGUF tensor type"),
    };

    public static byte[] F32(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return bytes;
    }

    public static byte[] F16(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
        }

        return bytes;
    }

    /// <summary>
    /// Q8_0: per block of 32, d = max|x| / 127 stored as f16, q = round(x / d) (half away from zero) as int8.
    /// The length must be a multiple of 32 (ggml quantizes rows, and rows must hold whole blocks).
    /// </summary>
    public static byte[] Q8_0(ReadOnlySpan<float> values)
    {
        if (values.Length % Q8BlockSize != 0)
        {
            throw new ArgumentException($"Q8_0 needs a multiple of {Q8BlockSize} values, got {values.Length}.", nameof(values));
        }

        int blocks = values.Length / Q8BlockSize;
        var bytes = new byte[blocks * Q8BlockBytes];
        for (int b = 0; b < blocks; b++)
        {
            var block = values.Slice(b * Q8BlockSize, Q8BlockSize);
            float amax = 0f;
            foreach (var v in block)
            {
                amax = MathF.Max(amax, MathF.Abs(v));
            }

            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            var target = bytes.AsSpan(b * Q8BlockBytes, Q8BlockBytes);
            BinaryPrimitives.WriteHalfLittleEndian(target, (Half)d);
            for (int j = 0; j < Q8BlockSize; j++)
            {
                target[2 + j] = unchecked((byte)(sbyte)MathF.Round(block[j] * id, MidpointRounding.AwayFromZero));
            }
        }

        return bytes;
    }

    /// <summary>Decodes Q8_0 bytes back to floats (d * q), for tests and checks.</summary>
    public static float[] DequantizeQ8_0(ReadOnlySpan<byte> bytes)
    {
        int blocks = bytes.Length / Q8BlockBytes;
        var values = new float[blocks * Q8BlockSize];
        for (int b = 0; b < blocks; b++)
        {
            var block = bytes.Slice(b * Q8BlockBytes, Q8BlockBytes);
            float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
            for (int j = 0; j < Q8BlockSize; j++)
            {
                values[b * Q8BlockSize + j] = d * (sbyte)block[2 + j];
            }
        }

        return values;
    }
}
