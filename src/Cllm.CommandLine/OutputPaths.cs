using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Cllm.CommandLine;

/// <summary>
/// Checks output files and folders before any work is done (a probe file is created, written and deleted), so an
/// unusable <c>--output</c> fails at once with a line naming the flag, not after a benchmark or between checkpoints.
/// </summary>
internal static class OutputPaths
{
    private const string ProbePrefix = ".cllm-write-probe-";

    /// <summary>
    /// Checks that <paramref name="path"/> can be written as a file: it is not a folder, its folder exists or can be
    /// created, and the folder (or an existing file, opened for writing without changing it) accepts writes.
    /// </summary>
    public static void CheckFile(string path, string flag)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new ArgumentException($"{flag} {path} is a folder; give a file name.");
        }

        string folder = Path.GetDirectoryName(full) ?? full;
        EnsureFolder(folder, flag, path);
        if (File.Exists(full))
        {
            try
            {
                using var existing = new FileStream(full, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"{flag} {path}: the file exists and cannot be written ({Reason(ex)}).", ex);
            }

            return;
        }

        Probe(folder, flag, path);
    }

    /// <summary>
    /// Checks that <paramref name="path"/> is a folder that accepts new files, or can be created as one (the writer
    /// creates it: a run refused or failed before it writes leaves no empty folder behind).
    /// </summary>
    public static void CheckFolder(string path, string flag)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(Path.GetFullPath(path)))
        {
            throw new ArgumentException($"{flag} {path} is a file; give a folder.");
        }

        CheckNewFolder(path, flag);
    }

    /// <summary>
    /// Checks that <paramref name="path"/>, a folder the writer creates later, can be created and accepts new files: an
    /// existing (empty) folder is probed; a missing one is created, probed and removed again with any parents made for it,
    /// so a refused run leaves nothing behind.
    /// </summary>
    public static void CheckNewFolder(string path, string flag)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            Probe(full, flag, path);
            return;
        }

        var made = new List<string>();                                                    // the folders this check creates, deepest first
        for (string? dir = full; !string.IsNullOrEmpty(dir) && !Directory.Exists(dir) && !File.Exists(dir); dir = Path.GetDirectoryName(dir))
        {
            made.Add(dir);
        }

        try
        {
            EnsureFolder(full, flag, path);
            Probe(full, flag, path);
        }
        finally
        {
            made.ForEach(RemoveIfEmpty);
        }
    }

    /// <summary>Prefix of the hidden folder a <see cref="WriteFolder"/> fills inside its target before moving the files up.</summary>
    public const string PartialPrefix = ".partial-";

    /// <summary>
    /// Writes a new folder whole or not at all: <paramref name="write"/> fills a hidden folder inside
    /// <paramref name="path"/> (created when absent; else empty, as <see cref="CheckNewFolder"/> found it), whose entries
    /// are moved up once it is complete, so the write stays on the target's file system (a mounted volume included) and
    /// the target itself is never replaced. A failure removes what was written (and the target when this call made it),
    /// so a rerun with the same path is not refused; what an interrupted process leaves is a hidden folder that the
    /// next check of the path clears (<see cref="ClearInterruptedWrites"/>).
    /// </summary>
    public static void WriteFolder(string path, Action<string> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        bool made = !Directory.Exists(full);
        Directory.CreateDirectory(full);
        string temp = Path.Combine(full, PartialPrefix + Guid.NewGuid().ToString("N"));
        try
        {
            write(temp);
            foreach (var entry in new DirectoryInfo(temp).EnumerateFileSystemInfos())
            {
                string target = Path.Combine(full, entry.Name);
                if (entry is DirectoryInfo folder)
                {
                    folder.MoveTo(target);
                }
                else
                {
                    ((FileInfo)entry).MoveTo(target);
                }
            }

            Directory.Delete(temp);
        }
        catch
        {
            try
            {
                if (Directory.Exists(temp))
                {
                    Directory.Delete(temp, recursive: true);
                }

                if (made)
                {
                    RemoveIfEmpty(full);
                }
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
            }

            throw;
        }
    }

    /// <summary>
    /// Removes the hidden folders an interrupted <see cref="WriteFolder"/> left in <paramref name="folder"/> (a killed
    /// process never reaches its clean-up), when they are all it holds; true when the folder is then empty or absent.
    /// </summary>
    public static bool ClearInterruptedWrites(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return true;
        }

        var entries = new DirectoryInfo(folder).EnumerateFileSystemInfos().ToList();
        if (entries.Count == 0 || !entries.All(e => e is DirectoryInfo && e.Name.StartsWith(PartialPrefix, StringComparison.Ordinal)))
        {
            return entries.Count == 0;
        }

        entries.ForEach(e => ((DirectoryInfo)e).Delete(recursive: true));
        return true;
    }

    /// <summary>Deletes <paramref name="folder"/> when it exists and is empty; one that cannot be deleted is left (empty: harmless, and a rerun uses it).</summary>
    public static void RemoveIfEmpty(string? folder)
    {
        try
        {
            if (folder is not null && Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any())
            {
                Directory.Delete(folder);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static void EnsureFolder(string folder, string flag, string given)
    {
        if (Directory.Exists(folder))
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            string why = BlockingFile(folder) is { } file ? $"{file} is a file" : Reason(ex);
            throw new ArgumentException($"{flag} {given}: cannot create the folder {folder} ({why}).", ex);
        }
    }

    /// <summary>The nearest existing ancestor of <paramref name="folder"/> (itself included) when it is a file, else null.</summary>
    private static string? BlockingFile(string folder)
    {
        for (string? dir = folder; !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(dir))
            {
                return dir;
            }

            if (Directory.Exists(dir))
            {
                return null;
            }
        }

        return null;
    }

    private static void Probe(string folder, string flag, string given)
    {
        string probe = Path.Combine(folder, ProbePrefix + Guid.NewGuid().ToString("N"));
        try
        {
            using (var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
                stream.WriteByte(0);
                stream.Flush(flushToDisk: false);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{flag} {given}: cannot write into the folder {folder} ({Reason(ex)}).", ex);
        }
    }

    /// <summary>A short reason in our words rather than the OS message (which quotes paths and varies by platform).</summary>
    private static string Reason(Exception ex) => ex switch
    {
        UnauthorizedAccessException => "permission denied",
        DirectoryNotFoundException => "a parent folder does not exist",
        PathTooLongException => "the path is too long",
        FileNotFoundException => "the folder does not accept new files",
        IOException io when io.HResult == 28 || io.Message.Contains("space", StringComparison.OrdinalIgnoreCase) => "no space left on the device",
        IOException io when io.Message.Contains("read-only", StringComparison.OrdinalIgnoreCase) => "read-only file system",
        _ => "I/O error",
    };
}
