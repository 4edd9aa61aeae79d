using System;
using System.IO;

namespace Cllm.Core;

/// <summary>
/// Writes a checkpoint file so that readers see either the old file or the complete new one: the content goes
/// to a temporary file in the same folder, is flushed to disk, and then replaces the target with one rename.
/// </summary>
internal static class AtomicFile
{
    private const int BufferSize = 1 << 20;

    /// <summary>
    /// Creates or replaces <paramref name="path"/> with what <paramref name="write"/> puts into the stream.
    /// I/O failures become <see cref="CheckpointException"/>s naming <paramref name="path"/>; the temporary file
    /// is removed on any failure.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        var target = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(target) ?? throw new CheckpointException(target, "not a file path");
        if (!Directory.Exists(folder))
        {
            throw new CheckpointException(target, $"cannot write: folder '{folder}' does not exist");
        }

        var temp = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, target, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new CheckpointException(target, $"cannot write: {ex.Message}", ex);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> atomically.</summary>
    public static void Copy(string source, string destination)
    {
        Write(destination, output =>
        {
            FileStream input;
            try
            {
                input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointException(source, $"cannot read: {ex.Message}", ex);
            }

            using (input)
            {
                input.CopyTo(output, BufferSize);
            }
        });
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the original failure is the one worth reporting.
        }
    }
}
