using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace Cllm.Tests.TestKit;

/// <summary>Checks that a committed safetensors file holds the weights, not a Git LFS pointer or a truncated copy.</summary>
internal static class ShippedWeights
{
    public static void AssertRealSafetensors(string path)
    {
        Assert.True(File.Exists(path), $"{path} is missing (the shipped models are committed)");
        long size = new FileInfo(path).Length;
        byte[] bytes = File.ReadAllBytes(path);
        Assert.False(
            Encoding.ASCII.GetString(bytes, 0, (int)Math.Min(bytes.Length, 64)).StartsWith("version https://git-lfs", StringComparison.Ordinal),
            $"{path} is a Git LFS pointer, not the weights");

        // safetensors: an 8-byte little-endian header length, a JSON header, then the tensor data, which must end
        // exactly where the last tensor's data_offsets say.
        Assert.True(size > 8, $"{path}: {size} bytes");
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(0, 8));
        Assert.InRange(headerLength, 2, size - 8);
        Assert.Equal((byte)'{', bytes[8]);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        long dataEnd = header.RootElement.EnumerateObject()
            .Where(p => p.Name != "__metadata__")
            .Max(p => p.Value.GetProperty("data_offsets")[1].GetInt64());
        Assert.Equal(size - 8 - headerLength, dataEnd);
    }
}
