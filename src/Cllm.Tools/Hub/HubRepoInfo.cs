using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>The answer of <c>/api/models/{repo}/revision/{revision}</c>: the commit and the files.</summary>
internal sealed record HubRepoInfo(string? Commit, IReadOnlyList<HubRepoFile> Files)
{
    /// <summary>Reads the JSON answer (<c>sha</c>, <c>siblings[].rfilename/size/lfs.sha256/lfs.size</c>); <paramref name="url"/> names it in errors.</summary>
    public static HubRepoInfo Parse(JsonElement root, string url)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new HubException(url, $"expected a JSON object describing the model, got {root.ValueKind}");
        }

        string? commit = root.TryGetProperty("sha", out var sha) && sha.ValueKind == JsonValueKind.String ? sha.GetString() : null;
        if (!root.TryGetProperty("siblings", out var siblings) || siblings.ValueKind != JsonValueKind.Array)
        {
            throw new HubException(url, "the model description has no 'siblings' list of files");
        }

        var files = new List<HubRepoFile>();
        foreach (var sibling in siblings.EnumerateArray())
        {
            if (sibling.ValueKind != JsonValueKind.Object
                || !sibling.TryGetProperty("rfilename", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
            {
                throw new HubException(url, $"siblings[{files.Count}] has no 'rfilename' string");
            }

            string name = nameElement.GetString()!;
            long? size = Size(sibling, url, name);
            string? sha256 = null;
            if (sibling.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
            {
                if (!lfs.TryGetProperty("sha256", out var hash) || hash.ValueKind != JsonValueKind.String
                    || hash.GetString() is not { Length: 64 } hex || !hex.All(char.IsAsciiHexDigit))
                {
                    throw new HubException(url, $"file '{name}': 'lfs.sha256' is not a 64-digit hex SHA-256");
                }

                sha256 = hex.ToLowerInvariant();
                size ??= Size(lfs, url, name);
            }

            files.Add(new HubRepoFile(name, size, sha256));
        }

        var duplicate = files.GroupBy(f => f.Path).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new HubException(url, $"file '{duplicate.Key}' is listed more than once");
        }

        return new HubRepoInfo(commit, files);
    }

    private static long? Size(JsonElement element, string url, string name)
    {
        if (!element.TryGetProperty("size", out var size) || size.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return size.ValueKind == JsonValueKind.Number && size.TryGetInt64(out long value) && value >= 0
            ? value
            : throw new HubException(url, $"file '{name}': 'size' is not a non-negative integer");
    }
}
