using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Encodings.Web;
using System.Text.Json;
using TorchSharp;

namespace Cllm.Core;

/// <summary>
/// Writes Hugging Face safetensors files: keys in ordinal order, <c>__metadata__ {"format": "pt"}</c>, the header
/// padded with spaces so the data starts at a multiple of 8, raw little-endian data. The file is replaced
/// atomically (temporary file in the same folder, flushed to disk, then renamed over the target).
/// </summary>
internal static class SafetensorsWriter
{
    private const int WriteChunkBytes = 64 << 20;

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/>. Tensors may live on any device and need not be
    /// contiguous; they are copied one at a time, so peak extra memory is one tensor.
    /// </summary>
    /// <param name="path">Target file; its folder must exist. An existing file is replaced.</param>
    /// <param name="tensors">Name/tensor pairs. Names must be unique, non-empty and not <c>__metadata__</c>.</param>
    /// <param name="storeAs">A floating type (F32, F16, BF16, F64) to store floating tensors in; integer and bool tensors keep their type. Null keeps every tensor's type.</param>
    /// <param name="metadata">Extra <c>__metadata__</c> entries; <c>format</c> defaults to <c>pt</c>.</param>
    /// <exception cref="ArgumentException">Duplicate or invalid names, a non-floating <paramref name="storeAs"/>, or a tensor type safetensors cannot hold.</exception>
    /// <exception cref="CheckpointException">The file cannot be written.</exception>
    public static void Write(
        string path,
        IEnumerable<KeyValuePair<string, torch.Tensor>> tensors,
        torch.ScalarType? storeAs = null,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        if (storeAs is { } requested && !SafetensorsDtypes.IsFloat(requested))
        {
            throw new ArgumentException($"storeAs must be a floating type (Float32, Float16, BFloat16, Float64), got {requested}.", nameof(storeAs));
        }

        var items = Plan(tensors, storeAs);
        var header = BuildHeader(items, metadata);
        WriteFile(path, header, items);
    }

    /// <summary>
    /// Writes tensors that are created only when their bytes are written (one at a time, disposed right after), so a
    /// file far larger than memory can be produced: peak extra memory is one tensor. The header comes from the
    /// declared names, shapes and types; each created tensor must have its declared shape (it is converted to the type).
    /// </summary>
    /// <param name="path">Target file; its folder must exist. An existing file is replaced atomically.</param>
    /// <param name="entries">Name, shape, stored type and a factory that returns a new tensor the writer then owns.</param>
    /// <exception cref="ArgumentException">Duplicate or invalid names, or a type safetensors cannot hold.</exception>
    /// <exception cref="InvalidOperationException">A factory returned a tensor of another shape.</exception>
    internal static void WriteGenerated(string path, IEnumerable<(string Name, long[] Shape, torch.ScalarType Type, Func<torch.Tensor> Create)> entries)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(entries);
        var items = new List<Item>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, shape, type, create) in entries)
        {
            if (string.IsNullOrEmpty(name) || name == "__metadata__" || !names.Add(name))
            {
                throw new ArgumentException($"'{name}' is empty, reserved or repeated: it cannot be a tensor name in a safetensors file.", nameof(entries));
            }

            if (!SafetensorsDtypes.TryGetName(type, out var dtype))
            {
                throw new ArgumentException($"tensor '{name}' has type {type}, which safetensors files cannot hold here (supported: {SafetensorsDtypes.SupportedList}).", nameof(entries));
            }

            var bytes = checked(shape.Aggregate(1L, (product, size) => product * size) * SafetensorsDtypes.ElementSize(type));
            items.Add(new Item(name, null, create, type, dtype, shape, bytes));
        }

        items.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        var header = BuildHeader(items, metadata: null);
        WriteFile(path, header, items);
    }

    /// <summary>Writes the 8-byte header length, the header and every item's bytes into <paramref name="path"/>, atomically.</summary>
    private static void WriteFile(string path, byte[] header, List<Item> items)
        => AtomicFile.Write(path, stream =>
        {
            Span<byte> lengthField = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(lengthField, (ulong)header.Length);
            stream.Write(lengthField);
            stream.Write(header);
            foreach (var item in items)
            {
                WriteData(stream, item);
            }
        });

    private static List<Item> Plan(IEnumerable<KeyValuePair<string, torch.Tensor>> tensors, torch.ScalarType? storeAs)
    {
        var items = new List<Item>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name) || name == "__metadata__")
            {
                throw new ArgumentException($"'{name}' cannot be a tensor name in a safetensors file.", nameof(tensors));
            }

            if (!names.Add(name))
            {
                throw new ArgumentException($"tensor name '{name}' appears twice.", nameof(tensors));
            }

            ArgumentNullException.ThrowIfNull(tensor, $"tensors['{name}']");
            var type = storeAs is { } target && SafetensorsDtypes.IsFloat(tensor.dtype) ? target : tensor.dtype;
            if (!SafetensorsDtypes.TryGetName(type, out var dtype))
            {
                throw new ArgumentException($"tensor '{name}' has type {type}, which safetensors files cannot hold here (supported: {SafetensorsDtypes.SupportedList}).", nameof(tensors));
            }

            var shape = tensor.shape;
            var bytes = checked(shape.Aggregate(1L, (product, size) => product * size) * SafetensorsDtypes.ElementSize(type));
            items.Add(new Item(name, tensor, null, type, dtype, shape, bytes));
        }

        items.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return items;
    }

    private static byte[] BuildHeader(List<Item> items, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            json.WriteString("format", metadata is not null && metadata.TryGetValue("format", out var format) ? format : "pt");
            foreach (var (key, value) in (metadata ?? new Dictionary<string, string>()).Where(kv => kv.Key != "format").OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                json.WriteString(key, value);
            }

            json.WriteEndObject();
            long offset = 0;
            foreach (var item in items)
            {
                json.WriteStartObject(item.Name);
                json.WriteString("dtype", item.Dtype);
                json.WriteStartArray("shape");
                foreach (var size in item.Shape)
                {
                    json.WriteNumberValue(size);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + item.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += item.ByteLength;
            }

            json.WriteEndObject();
        }

        var length = (int)buffer.Length;
        var padded = (length + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.GetBuffer().AsSpan(0, length).CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }

    private static void WriteData(Stream stream, Item item)
    {
        if (item.ByteLength == 0)
        {
            return;
        }

        using var scope = torch.NewDisposeScope();
        var data = item.Tensor?.detach() ?? item.Create!();                               // a created tensor is disposed with the scope
        if (!data.shape.SequenceEqual(item.Shape))
        {
            throw new InvalidOperationException($"tensor '{item.Name}' was declared {SafetensorsEntry.FormatShape(item.Shape)} but created as {SafetensorsEntry.FormatShape(data.shape)}.");
        }

        if (data.device_type != DeviceType.CPU)
        {
            data = data.cpu();
        }

        if (data.dtype != item.Type)
        {
            data = data.to_type(item.Type);
        }

        var count = data.numel();
        var flat = data.contiguous().view(count);
        var perChunk = Math.Max(1, WriteChunkBytes / SafetensorsDtypes.ElementSize(item.Type));
        for (long start = 0; start < count; start += perChunk)
        {
            using var piece = flat.narrow(0, start, Math.Min(perChunk, count - start));
            stream.Write(piece.bytes);
        }
    }

    private sealed record Item(string Name, torch.Tensor? Tensor, Func<torch.Tensor>? Create, torch.ScalarType Type, string Dtype, long[] Shape, long ByteLength);
}
