using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;

namespace Cllm.Training;

/// <summary>One line of a JSONL file: its 1-based number, where it starts and ends in the file, and its bytes (no line break).</summary>
/// <param name="Number">1-based line number.</param>
/// <param name="Offset">Byte offset of the line's first byte.</param>
/// <param name="End">Byte offset just after the line break (or after the last byte when <paramref name="Terminated"/> is false).</param>
/// <param name="Bytes">The line's UTF-8 bytes without "\n" or "\r\n".</param>
/// <param name="Terminated">False for a last line that has no line break: a write that may have been cut short.</param>
internal readonly record struct JsonlLine(int Number, long Offset, long End, ReadOnlyMemory<byte> Bytes, bool Terminated)
{
    /// <summary>True when the line holds only spaces and tabs.</summary>
    public bool IsBlank => Bytes.Span.Trim(" \t"u8).IsEmpty;

    /// <summary>Splits a stream into lines with their byte offsets (a UTF-8 byte order mark at the start is skipped).</summary>
    public static IEnumerable<JsonlLine> ReadAll(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var chunk = new byte[1 << 16];
        var line = new ArrayBufferWriter<byte>();
        long position = 0;
        long start = 0;
        int number = 0;
        bool first = true;
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            int at = 0;
            if (first)
            {
                first = false;
                if (read >= 3 && chunk[0] == 0xEF && chunk[1] == 0xBB && chunk[2] == 0xBF)
                {
                    at = 3;
                    position = start = 3;
                }
            }

            while (at < read)
            {
                int newline = Array.IndexOf(chunk, (byte)'\n', at, read - at);
                if (newline < 0)
                {
                    line.Write(chunk.AsSpan(at, read - at));
                    position += read - at;
                    break;
                }

                line.Write(chunk.AsSpan(at, newline - at));
                position += newline - at + 1;
                at = newline + 1;
                yield return new JsonlLine(++number, start, position, WithoutCarriageReturn(line.WrittenSpan), Terminated: true);
                line.Clear();
                start = position;
            }
        }

        if (line.WrittenCount > 0)
        {
            yield return new JsonlLine(++number, start, position, WithoutCarriageReturn(line.WrittenSpan), Terminated: false);
        }
    }

    private static byte[] WithoutCarriageReturn(ReadOnlySpan<byte> bytes)
        => (bytes.Length > 0 && bytes[^1] == (byte)'\r' ? bytes[..^1] : bytes).ToArray();
}
