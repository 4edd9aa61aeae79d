using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using TorchSharp;

namespace Cllm.Core;

/// <summary>
/// A Hugging Face safetensors file whose header has been read and validated. Tensor data stays on disk until
/// <see cref="ReadTensor"/> asks for one tensor, so multi-gigabyte files cost only their header in memory.
/// </summary>
/// <remarks>
/// Layout: an unsigned 64-bit little-endian header length N, N bytes of UTF-8 JSON, then the data section.
/// The JSON maps each tensor name to <c>{"dtype", "shape", "data_offsets": [begin, end]}</c> (offsets relative
/// to the data section) and may hold a <c>__metadata__</c> object of string values. <see cref="Open"/> checks
/// that every entry has a supported dtype, that its byte range matches its shape, and that the ranges cover the
/// data section exactly, without overlaps, holes, truncation or trailing bytes. Data is little-endian, as on
/// every platform TorchSharp runs on.
/// </remarks>
internal sealed class SafetensorsFile
{
    /// <summary>The largest header accepted (100 MB), so that a corrupt length cannot exhaust memory.</summary>
    public const long MaxHeaderLength = 100L * 1024 * 1024;

    private const string MetadataKey = "__metadata__";

    /// <summary>Tensor bytes are read in pieces of at most this size.</summary>
    private const int ReadChunkBytes = 64 << 20;

    private readonly Dictionary<string, SafetensorsEntry> _tensors;

    private SafetensorsFile(string path, long fileLength, long headerLength, Dictionary<string, SafetensorsEntry> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        FileLength = fileLength;
        HeaderLength = headerLength;
        _tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Full path of the file.</summary>
    public string Path { get; }

    /// <summary>Size of the file in bytes when it was opened.</summary>
    public long FileLength { get; }

    /// <summary>Length of the JSON header in bytes (including its padding).</summary>
    public long HeaderLength { get; }

    /// <summary>Absolute file offset of the data section.</summary>
    public long DataOffset => 8 + HeaderLength;

    /// <summary>The tensors, by name, in header order.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Tensors => _tensors;

    /// <summary>The <c>__metadata__</c> entries (e.g. <c>format: pt</c>); empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Reads and validates the header of <paramref name="path"/>.</summary>
    /// <exception cref="CheckpointException">The file is missing, unreadable or not a valid safetensors file.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        using var stream = OpenRead(fullPath);
        var fileLength = stream.Length;
        if (fileLength < 8)
        {
            throw new CheckpointException(fullPath, $"file is {fileLength} bytes long, shorter than the 8-byte header length field; not a safetensors file");
        }

        Span<byte> lengthField = stackalloc byte[8];
        stream.ReadExactly(lengthField);
        var declared = BinaryPrimitives.ReadUInt64LittleEndian(lengthField);
        if (declared > MaxHeaderLength)
        {
            throw new CheckpointException(fullPath, $"header length {declared} bytes is absurdly large (limit {MaxHeaderLength} bytes); not a safetensors file or corrupt");
        }

        var headerLength = (long)declared;
        if (8 + headerLength > fileLength)
        {
            throw new CheckpointException(fullPath, $"header length {headerLength} bytes is larger than the rest of the file ({fileLength - 8} bytes); truncated or not a safetensors file");
        }

        var header = new byte[headerLength];
        stream.ReadExactly(header);

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException ex)
        {
            throw new CheckpointException(fullPath, $"header is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var (tensors, metadata) = ParseHeader(fullPath, document.RootElement);
            CheckCoverage(fullPath, tensors.Values, fileLength - 8 - headerLength);
            return new SafetensorsFile(fullPath, fileLength, headerLength, tensors, metadata);
        }
    }

    /// <summary>
    /// Reads one tensor from disk into a new CPU tensor in the file's dtype, or converted to
    /// <paramref name="convertTo"/>. The caller owns (and disposes) the result.
    /// </summary>
    /// <exception cref="CheckpointException">No such tensor, or the file changed or cannot be read.</exception>
    public torch.Tensor ReadTensor(string name, torch.ScalarType? convertTo = null) => ReadRows(name, 0, null, convertTo);

    /// <summary>
    /// As <see cref="ReadTensor"/>, rows [<paramref name="start"/>, start + <paramref name="count"/>) of the first dimension
    /// only (all of them for a null count): a large weight can be read a block of rows at a time.
    /// </summary>
    /// <exception cref="CheckpointException">No such tensor, or the file changed or cannot be read.</exception>
    public torch.Tensor ReadRows(string name, long start, long? count, torch.ScalarType? convertTo = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_tensors.TryGetValue(name, out var entry))
        {
            throw new CheckpointException(Path, $"no tensor named '{name}'");
        }

        var shape = (long[])entry.ShapeArray.Clone();
        long rows = shape.Length == 0 ? 1 : shape[0];
        long take = count ?? rows - start;
        if (start < 0 || take < 0 || start + take > rows || (shape.Length == 0 && (start, take) != (0, 1)))
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"rows {start}..{start + take} are outside tensor '{name}' of {rows} rows.");
        }

        long rowBytes = (entry.End - entry.Begin) / Math.Max(1, rows);
        if (shape.Length > 0)
        {
            shape[0] = take;
        }

        using var stream = OpenRead(Path);
        if (stream.Length != FileLength)
        {
            throw new CheckpointException(Path, $"file changed since it was opened (was {FileLength} bytes, now {stream.Length})");
        }

        var tensor = torch.empty(shape, dtype: entry.ScalarType);
        try
        {
            stream.Position = DataOffset + entry.Begin + (start * rowBytes);
            ReadInto(tensor, stream);
            if (convertTo is { } type && type != entry.ScalarType)
            {
                var converted = tensor.to_type(type);
                tensor.Dispose();
                tensor = converted;
            }

            return tensor;
        }
        catch (Exception ex)
        {
            tensor.Dispose();
            if (ex is CheckpointException)
            {
                throw;
            }

            if (ex is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointException(Path, $"cannot read tensor '{name}': {ex.Message}", ex);
            }

            throw;
        }
    }

    private static FileStream OpenRead(string fullPath)
    {
        try
        {
            return new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.RandomAccess);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CheckpointException(fullPath, "file not found", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(fullPath, $"cannot open: {ex.Message}", ex);
        }
    }

    /// <summary>Fills a fresh contiguous CPU tensor from the stream's current position, in bounded pieces.</summary>
    private void ReadInto(torch.Tensor tensor, FileStream stream)
    {
        var count = tensor.numel();
        if (count == 0)
        {
            return;
        }

        var elementSize = SafetensorsDtypes.ElementSize(tensor.dtype);
        var perChunk = Math.Max(1, ReadChunkBytes / elementSize);
        using var flat = tensor.view(count);
        for (long start = 0; start < count; start += perChunk)
        {
            var length = Math.Min(perChunk, count - start);
            using var piece = flat.narrow(0, start, length);
            try
            {
                stream.ReadExactly(piece.bytes);
            }
            catch (EndOfStreamException ex)
            {
                throw new CheckpointException(Path, "file is truncated: it ended while reading tensor data", ex);
            }
        }
    }

    private static (Dictionary<string, SafetensorsEntry> Tensors, Dictionary<string, string> Metadata) ParseHeader(string path, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new CheckpointException(path, $"header is a JSON {Describe(root.ValueKind)}, expected an object");
        }

        var tensors = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var seenMetadata = false;
        foreach (var property in root.EnumerateObject())
        {
            if (property.Name == MetadataKey)
            {
                if (seenMetadata)
                {
                    throw new CheckpointException(path, "header has two '__metadata__' entries");
                }

                seenMetadata = true;
                ParseMetadata(path, property.Value, metadata);
                continue;
            }

            if (tensors.ContainsKey(property.Name))
            {
                throw new CheckpointException(path, $"header lists tensor '{property.Name}' twice");
            }

            tensors.Add(property.Name, ParseEntry(path, property.Name, property.Value));
        }

        return (tensors, metadata);
    }

    private static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new CheckpointException(path, $"'__metadata__' is a JSON {Describe(value.ValueKind)}, expected an object of strings");
        }

        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw new CheckpointException(path, $"'__metadata__' entry '{item.Name}' is a JSON {Describe(item.Value.ValueKind)}, expected a string");
            }

            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static SafetensorsEntry ParseEntry(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new CheckpointException(path, $"tensor '{name}': entry is a JSON {Describe(value.ValueKind)}, expected an object");
        }

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw new CheckpointException(path, $"tensor '{name}': missing or non-string 'dtype'");
        }

        var dtype = dtypeElement.GetString()!;
        if (!SafetensorsDtypes.TryParse(dtype, out var scalarType))
        {
            throw new CheckpointException(path, $"tensor '{name}': unknown dtype '{dtype}' (supported: {SafetensorsDtypes.SupportedList})");
        }

        var shape = ReadNonNegativeIntegers(path, name, value, "shape");
        var offsets = ReadNonNegativeIntegers(path, name, value, "data_offsets");
        if (offsets.Length != 2)
        {
            throw new CheckpointException(path, $"tensor '{name}': 'data_offsets' has {offsets.Length} numbers, expected 2 ([begin, end])");
        }

        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin)
        {
            throw new CheckpointException(path, $"tensor '{name}': data_offsets [{begin}, {end}] are out of order (end before begin)");
        }

        long expected;
        try
        {
            expected = checked(shape.Aggregate(1L, (product, size) => product * size) * SafetensorsDtypes.ElementSize(scalarType));
        }
        catch (OverflowException ex)
        {
            throw new CheckpointException(path, $"tensor '{name}': shape {SafetensorsEntry.FormatShape(shape)} is too large", ex);
        }

        if (end - begin != expected)
        {
            throw new CheckpointException(
                path,
                $"tensor '{name}': data_offsets [{begin}, {end}] span {end - begin} bytes, but shape {SafetensorsEntry.FormatShape(shape)} of {dtype} needs {expected}");
        }

        return new SafetensorsEntry(name, dtype, scalarType, shape, begin, end);
    }

    private static long[] ReadNonNegativeIntegers(string path, string name, JsonElement entry, string field)
    {
        if (!entry.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw new CheckpointException(path, $"tensor '{name}': missing or non-array '{field}'");
        }

        var result = new long[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var number) || number < 0)
            {
                throw new CheckpointException(path, $"tensor '{name}': '{field}' holds {item.GetRawText()}, expected a non-negative integer");
            }

            result[i++] = number;
        }

        return result;
    }

    /// <summary>The byte ranges must tile the data section exactly: nothing outside it, no overlap, no hole, no extra bytes.</summary>
    private static void CheckCoverage(string path, IEnumerable<SafetensorsEntry> entries, long dataLength)
    {
        var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        foreach (var entry in ordered)
        {
            if (entry.End > dataLength)
            {
                throw new CheckpointException(
                    path,
                    $"tensor '{entry.Name}': data_offsets [{entry.Begin}, {entry.End}] are out of range: the data section has only {dataLength} bytes (file truncated or header wrong)");
            }
        }

        long covered = 0;
        SafetensorsEntry? previous = null;
        foreach (var entry in ordered)
        {
            if (entry.Begin < covered)
            {
                throw new CheckpointException(
                    path,
                    $"tensors '{previous!.Name}' [{previous.Begin}, {previous.End}] and '{entry.Name}' [{entry.Begin}, {entry.End}] have overlapping data_offsets");
            }

            if (entry.Begin > covered)
            {
                throw new CheckpointException(path, $"bytes [{covered}, {entry.Begin}) of the data section belong to no tensor (hole before '{entry.Name}')");
            }

            covered = entry.End;
            previous = entry;
        }

        if (covered < dataLength)
        {
            throw new CheckpointException(path, $"{dataLength - covered} bytes after the last tensor belong to no tensor (data section is {dataLength} bytes, tensors cover {covered})");
        }
    }

    private static string Describe(JsonValueKind kind) => kind.ToString().ToLower(CultureInfo.InvariantCulture);
}
