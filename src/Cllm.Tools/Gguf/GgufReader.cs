using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>Reads back a GGUF v3 file written by <see cref="GgufWriter"/>: metadata, tensor infos and tensor bytes (for checks and tests).</summary>
internal sealed class GgufReader
{
    private GgufReader(uint version, Dictionary<string, GgufMetadataValue> metadata, List<GgufTensor> tensors, List<ulong> offsets, long dataStart)
    {
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        Offsets = offsets;
        DataStart = dataStart;
    }

    public uint Version { get; }

    public IReadOnlyDictionary<string, GgufMetadataValue> Metadata { get; }

    /// <summary>Tensors in file order, with their data read.</summary>
    public IReadOnlyList<GgufTensor> Tensors { get; }

    /// <summary>Each tensor's data offset relative to <see cref="DataStart"/>.</summary>
    public IReadOnlyList<ulong> Offsets { get; }

    /// <summary>Absolute file position of the data section.</summary>
    public long DataStart { get; }

    public static GgufReader Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var r = new BinaryReader(stream, Encoding.UTF8);
        if (r.ReadUInt32() != GgufWriter.Magic)
        {
            throw new CheckpointException(path, "not a GGUF file (bad magic)");
        }

        uint version = r.ReadUInt32();
        ulong tensorCount = r.ReadUInt64();
        ulong kvCount = r.ReadUInt64();
        var metadata = new Dictionary<string, GgufMetadataValue>(StringComparer.Ordinal);
        for (ulong i = 0; i < kvCount; i++)
        {
            string key = ReadString(r);
            var type = (GgufValueType)r.ReadUInt32();
            metadata[key] = ReadValue(r, type);
        }

        var infos = new List<(string Name, long[] Ne, GgufTensorType Type, ulong Offset)>();
        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = ReadString(r);
            var ne = new long[r.ReadUInt32()];
            for (int d = 0; d < ne.Length; d++)
            {
                ne[d] = (long)r.ReadUInt64();
            }

            infos.Add((name, ne, (GgufTensorType)r.ReadUInt32(), r.ReadUInt64()));
        }

        uint alignment = metadata.TryGetValue("general.alignment", out var a) ? a.As<uint>() : 32u;
        long dataStart = (stream.Position + alignment - 1) / alignment * alignment;
        var tensors = new List<GgufTensor>();
        var offsets = new List<ulong>();
        foreach (var (name, ne, type, offset) in infos)
        {
            long count = 1;
            foreach (var n in ne)
            {
                count *= n;
            }

            long bytes = type switch
            {
                GgufTensorType.F32 => count * 4,
                GgufTensorType.F16 => count * 2,
                GgufTensorType.Q8_0 => count / GgufEncoding.Q8BlockSize * GgufEncoding.Q8BlockBytes,
                _ => throw new CheckpointException(path, $"tensor '{name}' has unsupported type {type}"),
            };
            stream.Position = dataStart + (long)offset;
            tensors.Add(new GgufTensor(name, ne, type, r.ReadBytes(checked((int)bytes))));
            offsets.Add(offset);
        }

        return new GgufReader(version, metadata, tensors, offsets, dataStart);
    }

    private static string ReadString(BinaryReader r) => Encoding.UTF8.GetString(r.ReadBytes(checked((int)r.ReadUInt64())));

    private static GgufMetadataValue ReadValue(BinaryReader r, GgufValueType type)
    {
        switch (type)
        {
            case GgufValueType.String: return new(type, ReadString(r));
            case GgufValueType.UInt32: return new(type, r.ReadUInt32());
            case GgufValueType.Int32: return new(type, r.ReadInt32());
            case GgufValueType.Float32: return new(type, r.ReadSingle());
            case GgufValueType.Bool: return new(type, r.ReadByte() != 0);
            case GgufValueType.UInt64: return new(type, r.ReadUInt64());
            case GgufValueType.Array:
                var element = (GgufValueType)r.ReadUInt32();
                int count = checked((int)r.ReadUInt64());
                return element switch
                {
                    GgufValueType.String => GgufMetadataValue.Of(Fill(count, () => ReadString(r))),
                    GgufValueType.Float32 => GgufMetadataValue.Of(Fill(count, r.ReadSingle)),
                    GgufValueType.Int32 => GgufMetadataValue.Of(Fill(count, r.ReadInt32)),
                    _ => throw new NotSupportedException($"GGUF arrays of {element} are not supported by the reader."),
                };
            default:
                throw new NotSupportedException($"GGUF value type {type} is not supported by the reader.");
        }
    }

    private static T[] Fill<T>(int count, Func<T> read)
    {
        var values = new T[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = read();
        }

        return values;
    }
}
