using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;

namespace Cllm.Tests.Checkpoints;

/// <summary>Writes hand-made (possibly broken) safetensors files byte by byte.</summary>
internal static class RawSafetensors
{
    public static void Write(string path, string headerJson, byte[] data, ulong? declaredHeaderLength = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, declaredHeaderLength ?? (ulong)header.Length);
        using var stream = File.Create(path);
        stream.Write(length);
        stream.Write(header);
        stream.Write(data);
    }

    public static byte[] Floats(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return bytes;
    }
}
