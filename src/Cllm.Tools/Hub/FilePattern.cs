using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>
/// The glob patterns of <see cref="HubDownloadOptions.Include"/>/<see cref="HubDownloadOptions.Exclude"/>, with the
/// same meaning as the hub's own tools (Python fnmatch): <c>*</c> matches any run of characters, '/' included,
/// <c>?</c> exactly one; everything else is literal and case-sensitive. A pattern ending in '/' matches the folder's files.
/// </summary>
internal static class FilePattern
{
    public static void Check(string? pattern, string kind)
    {
        if (string.IsNullOrWhiteSpace(pattern))
        {
            throw new ArgumentException($"an {kind} pattern is empty.");
        }
    }

    /// <summary>True when <paramref name="path"/> is selected by the include and exclude patterns.</summary>
    public static bool Selects(IReadOnlyList<string> include, IReadOnlyList<string> exclude, string path) =>
        (include.Count == 0 || include.Any(p => Matches(p, path))) && !exclude.Any(p => Matches(p, path));

    public static bool Matches(string pattern, string path)
    {
        if (pattern.EndsWith('/'))
        {
            pattern += "*";
        }

        // Greedy two-pointer match; on a mismatch the last '*' absorbs one more character.
        int p = 0, s = 0, star = -1, starMatch = 0;
        while (s < path.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                starMatch = s;
            }
            else if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == path[s]))
            {
                p++;
                s++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                s = ++starMatch;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
