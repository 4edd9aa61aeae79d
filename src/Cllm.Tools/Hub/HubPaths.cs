using System;
using System.IO;
using System.Linq;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>Checks repository ids, revisions and repository file names, and builds hub URLs from them.</summary>
internal static class HubPaths
{
    private const int MaxRepoPartLength = 96;

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="repoId"/> has the hub's <c>owner/name</c> shape.</summary>
    public static void CheckRepoId(string? repoId)
    {
        ArgumentNullException.ThrowIfNull(repoId);
        var parts = repoId.Split('/');
        if (parts.Length != 2 || !IsRepoPart(parts[0]) || !IsRepoPart(parts[1]))
        {
            throw new ArgumentException(
                $"repository id '{repoId}' is not of the form owner/name (letters, digits, '-', '_', '.'; at most {MaxRepoPartLength} characters each; no '--' or '..'; not starting or ending with '-' or '.').",
                nameof(repoId));
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> for a revision that cannot name a branch, tag or commit.</summary>
    public static void CheckRevision(string revision)
    {
        if (revision.Length == 0 || revision.Length > 256 || revision.Trim() != revision || revision is "." or ".."
            || revision.Any(char.IsControl))
        {
            throw new ArgumentException($"revision '{revision}' is not a branch, tag or commit name.", nameof(revision));
        }
    }

    /// <summary>
    /// Why <paramref name="name"/> (a repository path from the hub) must not be written under an output folder, or null
    /// when it is a plain relative path: no absolute paths, drive letters, backslashes, '.'/'..' or empty segments,
    /// control characters.
    /// </summary>
    public static string? UnsafeReason(string name)
    {
        if (name.Length == 0)
        {
            return "the name is empty";
        }

        if (name.Any(char.IsControl))
        {
            return "it contains control characters";
        }

        if (name.Contains('\\'))
        {
            return "it contains a backslash";
        }

        if (name.Contains(':'))
        {
            return "it contains ':' (a drive letter or stream name)";
        }

        if (name.StartsWith('/'))
        {
            return "it is an absolute path";
        }

        foreach (var segment in name.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                return segment.Length == 0 ? "it has an empty path segment" : $"it has a '{segment}' path segment";
            }
        }

        return null;
    }

    /// <summary>
    /// The full local path of <paramref name="name"/> under <paramref name="root"/> (a full path), or null if it would
    /// land outside <paramref name="root"/>. Call after <see cref="UnsafeReason"/> returned null; this is the final guard.
    /// </summary>
    public static string? LocalPath(string root, string name)
    {
        var full = Path.GetFullPath(Path.Combine(root, name.Replace('/', Path.DirectorySeparatorChar)));
        var prefix = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return full.StartsWith(prefix, comparison) && full.Length > prefix.Length ? full : null;
    }

    /// <summary><c>{endpoint}/api/models/{repo}/revision/{revision}?blobs=true</c>: the file list with sizes and LFS hashes.</summary>
    public static Uri ModelInfoUrl(Uri endpoint, string repoId, string revision) =>
        new($"{Base(endpoint)}/api/models/{repoId}/revision/{Uri.EscapeDataString(revision)}?blobs=true");

    /// <summary><c>{endpoint}/{repo}/resolve/{revision}/{path}</c>: the bytes of one file, every path segment escaped.</summary>
    public static Uri ResolveUrl(Uri endpoint, string repoId, string revision, string path) =>
        new($"{Base(endpoint)}/{repoId}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}");

    /// <summary>True for a full 40-digit lowercase hex commit id.</summary>
    public static bool IsCommitId(string? text) => text is { Length: 40 } && text.All(char.IsAsciiHexDigitLower);

    /// <summary><paramref name="text"/> with control characters shown as <c>\uXXXX</c>, safe to print in one line.</summary>
    public static string Printable(string text) =>
        string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    private static string Base(Uri endpoint) => endpoint.AbsoluteUri.TrimEnd('/');

    private static bool IsRepoPart(string part) =>
        part.Length is > 0 and <= MaxRepoPartLength
        && part.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
        && part[0] is not ('-' or '.') && part[^1] is not ('-' or '.')
        && !part.Contains("--", StringComparison.Ordinal) && !part.Contains("..", StringComparison.Ordinal);
}
