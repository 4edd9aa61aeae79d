using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>
/// Writes a GGUF v3 file (little endian): header, metadata key/values, tensor infos, then the tensor data with every
/// tensor's offset a multiple of <see cref="Alignment"/> (written as <c>general.alignment</c>).
/// </summary>
internal sealed class GgufWriter
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;

    public const uint Version = 3;

    public const int Alignment = 32;

    private readonly List<KeyValuePair<string, GgufMetadataValue>> _metadata = new();
    private readonly List<GgufTensor> _tensors = new();
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);

    public GgufWriter() => Add("general.alignment", GgufMetadataValue.Of((uint)Alignment));

    public IReadOnlyList<KeyValuePair<string, GgufMetadataValue>> Metadata => _metadata;

    public IReadOnlyList<GgufTensor> Tensors => _tensors;

    public void Add(string key, GgufMetadataValue value)
    {
        if (!_keys.Add(key))
        {
            throw new ArgumentException($"GGUF metadata key '{key}' is set twice.", nameof(key));
        }

        _metadata.Add(new(key, value));
    }

    public void Add(GgufTensor tensor)
    {
        if (_tensors.Exists(t => t.Name == tensor.Name))
        {
            throw new ArgumentException($"GGUF tensor '{tensor.Name}' is added twice.", nameof(tensor));
        }

        _tensors.Add(tensor);
    }

    /// <summary>Writes the whole file to <paramref name="stream"/>.</summary>
    public void WriteTo(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(w, key);
            w.Write((uint)value.Type);
            WriteValue(w, value);
        }

        ulong offset = 0;
        foreach (var tensor in _tensors)
        {
            WriteString(w, tensor.Name);
            w.Write((uint)tensor.Dimensions.Count);
            foreach (var ne in tensor.Dimensions)
            {
                w.Write((ulong)ne);
            }

            w.Write((uint)tensor.Type);
            w.Write(offset);
            offset = Align((ulong)((long)offset + tensor.ByteLength));
        }

        Pad(w);
        long dataStart = w.BaseStream.Position;
        foreach (var tensor in _tensors)
        {
            w.Write(tensor.Data);                                                          // encoded now, one tensor at a time
            Pad(w, dataStart);
        }
    }

    private static ulong Align(ulong offset) => (offset + Alignment - 1) / Alignment * Alignment;

    private static void Pad(BinaryWriter w, long origin = 0)
    {
        long used = w.BaseStream.Position - origin;
        long padded = (long)Align((ulong)used);
        for (long i = used; i < padded; i++)
        {
            w.Write((byte)0);
        }
    }

    private static void WriteString(BinaryWriter w, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufMetadataValue value)
    {
        switch (value.Type)
        {
            case GgufValueType.String: WriteString(w, value.As<string>()); break;
            case GgufValueType.UInt32: w.Write(value.As<uint>()); break;
            case GgufValueType.Int32: w.Write(value.As<int>()); break;
            case GgufValueType.Float32: w.Write(value.As<float>()); break;
            case GgufValueType.Bool: w.Write(value.As<bool>() ? (byte)1 : (byte)0); break;
            case GgufValueType.UInt64: w.Write(value.As<ulong>()); break;
            case GgufValueType.Array:
                w.Write((uint)value.ElementType);
                switch (value.Value)
                {
                    case string[] strings:
                        w.Write((ulong)strings.Length);
                        foreach (var s in strings)
                        {
                            WriteString(w, s);
                        }

                        break;
                    case float[] floats:
                        w.Write((ulong)floats.Length);
                        foreach (var f in floats)
                        {
                            w.Write(f);
                        }

                        break;
                    case int[] ints:
                        w.Write((ulong)ints.Length);
                        foreach (var i in ints)
                        {
                            w.Write(i);
                        }

                        break;
                    default:
                        throw new NotSupportedException($"GGUF arrays of {value.Value.GetType().Name} are not supported.");
                }

                break;
            default:
                throw new NotSupportedException($"GGUF value type {value.Type} is not supported by the writer.");
        }
    }
}
