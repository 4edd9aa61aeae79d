using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>What <see cref="HubDownloader.DownloadAsync"/> fetched.</summary>
public sealed class DownloadResult
{
    internal DownloadResult(string repoId, string revision, string? commit, string outputDir, IReadOnlyList<DownloadedFile> files, long bytesTransferred, TimeSpan elapsed)
    {
        RepoId = repoId;
        Revision = revision;
        Commit = commit;
        OutputDir = outputDir;
        Files = files;
        BytesTransferred = bytesTransferred;
        Elapsed = elapsed;
    }

    /// <summary>The repository, <c>owner/name</c>.</summary>
    public string RepoId { get; }

    /// <summary>The revision asked for (branch, tag or commit).</summary>
    public string Revision { get; }

    /// <summary>The commit the revision resolved to (the files were fetched at this commit), or null if the hub did not say.</summary>
    public string? Commit { get; }

    /// <summary>Full path of the output folder.</summary>
    public string OutputDir { get; }

    /// <summary>Every selected file, in repository order, downloaded or skipped.</summary>
    public IReadOnlyList<DownloadedFile> Files { get; }

    /// <summary>Bytes received over the network in this call (retried bytes counted again).</summary>
    public long BytesTransferred { get; }

    /// <summary>Wall time of the call.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Number of files transferred.</summary>
    public int DownloadedCount => Files.Count(f => !f.Skipped);

    /// <summary>Number of files already present and complete.</summary>
    public int SkippedCount => Files.Count(f => f.Skipped);

    /// <summary>Total size of the selected files.</summary>
    public long TotalSize => Files.Sum(f => f.Size);
}
