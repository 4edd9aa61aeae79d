using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;

namespace Cllm.Training;

/// <summary>
/// Writes trajectory records as JSONL, one record per line with the reference's field names and flat id
/// lists. Records are written one prompt at a time: <see cref="WritePrompt"/> writes a prompt's records in
/// one batch, tags each with the batch size (<c>prompt_record_count</c>, so a resumed collection can tell a
/// complete prompt from one cut short) and flushes the file to disk.
/// </summary>
internal sealed class JsonlTrajectoryWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly ArrayBufferWriter<byte> _buffer = new();

    /// <summary>Opens <paramref name="path"/>, appending by default; creates it (and its folder) when missing.</summary>
    public JsonlTrajectoryWriter(string path, bool append = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        Path = path;
        _stream = new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read);
    }

    /// <summary>The output file.</summary>
    public string Path { get; }

    /// <summary>Collection settings written into every record (set by the collector), or null.</summary>
    internal CollectionStamp? Stamp { get; init; }

    /// <summary>
    /// Writes the records of one prompt (all with the same <c>data_id</c>) and flushes them to disk. An empty
    /// list writes nothing.
    /// </summary>
    public void WritePrompt(IReadOnlyList<TrajectoryRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return;
        }

        _buffer.Clear();
        foreach (var record in records)
        {
            record.Validate();
            if (record.DataId != records[0].DataId)
            {
                throw new ArgumentException($"one prompt's batch mixes data ids {records[0].DataId} and {record.DataId}.", nameof(records));
            }

            using (var json = new Utf8JsonWriter(_buffer))
            {
                TrajectoryJson.Write(json, record, records.Count, Stamp);
            }

            _buffer.Write("\n"u8);
        }

        _stream.Write(_buffer.WrittenSpan);
        _stream.Flush(flushToDisk: true);
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _stream.Dispose();
}
