using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace Cllm.Training;

/// <summary>
/// Streams trajectory records from a collected data set: JSONL (one record per line, as
/// <see cref="JsonlTrajectoryWriter"/> and <c>cllm collect</c> write it) or one JSON array of records (the
/// reference implementation's output). Id lists may carry the reference's extra nesting; they are returned
/// flat. A malformed record fails with a <see cref="FormatException"/> naming "file:line" (JSONL) or
/// "file: element i" (array). Blank lines are skipped.
/// </summary>
public sealed class JsonlTrajectorySource : ITrajectorySource
{
    /// <summary>Reads <paramref name="path"/> (nothing is opened until <see cref="Read"/>).</summary>
    public JsonlTrajectorySource(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = path;
    }

    /// <summary>The data set file.</summary>
    public string Path { get; }

    /// <summary>When set, told the collecting model (if recorded) of every record read.</summary>
    internal TrajectoryProvenance? Provenance { get; init; }

    /// <summary>The records in file order, read lazily; each enumeration reads the file again.</summary>
    public IEnumerable<TrajectoryRecord> Read(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Path))
        {
            throw new FileNotFoundException($"{Path}: trajectory file not found.", Path);
        }

        return IsJsonArray() ? ReadArray(cancellationToken) : ReadLines(cancellationToken);
    }

    private IEnumerable<TrajectoryRecord> ReadLines(CancellationToken cancellationToken)
    {
        using var stream = OpenRead();
        foreach (var line in JsonlLine.ReadAll(stream))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (line.IsBlank)
            {
                continue;
            }

            var record = Parse(line, Path, out _, out var stamp);
            Provenance?.Add(stamp?.Model, line.Number);
            yield return record;
        }
    }

    /// <summary>Parses one line; a problem becomes "file:line: problem".</summary>
    internal static TrajectoryRecord Parse(JsonlLine line, string path) => Parse(line, path, out _);

    /// <summary>Parses one line and its optional <c>prompt_record_count</c>; a problem becomes "file:line: problem".</summary>
    internal static TrajectoryRecord Parse(JsonlLine line, string path, out int? promptRecordCount) => Parse(line, path, out promptRecordCount, out _);

    /// <summary>Parses one line, its optional <c>prompt_record_count</c> and <c>collect_settings</c>; a problem becomes "file:line: problem".</summary>
    internal static TrajectoryRecord Parse(JsonlLine line, string path, out int? promptRecordCount, out CollectionStamp? stamp)
    {
        string cut = line.Terminated ? string.Empty : " (the file ends mid-line: an interrupted collection? Rerun cllm collect with the same output to repair it)";
        try
        {
            using var document = JsonDocument.Parse(line.Bytes);
            var record = TrajectoryJson.Read(document.RootElement, out promptRecordCount);
            stamp = CollectionStamp.Read(document.RootElement);
            return record;
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{path}:{line.Number}: {JsonLineError.Describe(ex)}{cut}.", ex);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"{path}:{line.Number}: {ex.Message}{cut}", ex);
        }
    }

    private IEnumerable<TrajectoryRecord> ReadArray(CancellationToken cancellationToken)
    {
        using var stream = OpenRead();
        int index = 0;
        using var elements = JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream, cancellationToken: cancellationToken)
            .ToBlockingEnumerable(cancellationToken)
            .GetEnumerator();
        while (true)
        {
            JsonElement element;
            try
            {
                if (!elements.MoveNext())
                {
                    yield break;
                }

                element = elements.Current;
            }
            catch (JsonException ex)
            {
                throw new FormatException($"{Path}: not a valid JSON array of records ({ex.Message}).", ex);
            }

            TrajectoryRecord record;
            try
            {
                record = TrajectoryJson.Read(element, out _);
            }
            catch (FormatException ex)
            {
                throw new FormatException($"{Path}: element {index}: {ex.Message}", ex);
            }

            Provenance?.Add(null, index);                                                 // the reference's array format has no stamps
            index++;
            yield return record;
        }
    }

    /// <summary>True when the first character after white space (and a byte order mark) is '['.</summary>
    private bool IsJsonArray()
    {
        using var stream = OpenRead();
        int b;
        while ((b = stream.ReadByte()) >= 0)
        {
            if (b is ' ' or '\t' or '\r' or '\n' or 0xEF or 0xBB or 0xBF)
            {
                continue;
            }

            return b == '[';
        }

        return false;
    }

    private FileStream OpenRead() => new(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan);
}
