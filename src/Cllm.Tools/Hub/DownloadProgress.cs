using Cllm.Core;
namespace Cllm.Tools;

/// <summary>One progress report of <see cref="HubDownloader.DownloadAsync"/>.</summary>
/// <param name="Event">What happened.</param>
/// <param name="File">Path of the file in the repository, with '/' separators.</param>
/// <param name="FileIndex">1-based position of the file among the files to fetch.</param>
/// <param name="FileCount">Number of files to fetch (after include/exclude filtering).</param>
/// <param name="FileBytesDone">Bytes of this file on disk so far (including a resumed partial file).</param>
/// <param name="FileBytesTotal">Size of the file, when the hub reported it.</param>
/// <param name="BytesDone">Bytes done over all files, skipped files included.</param>
/// <param name="BytesTotal">Size of all files, when the hub reported every size.</param>
/// <param name="Message">For <see cref="DownloadEvent.Retrying"/>: the failure being retried; otherwise null.</param>
public readonly record struct DownloadProgress(
    DownloadEvent Event,
    string File,
    int FileIndex,
    int FileCount,
    long FileBytesDone,
    long? FileBytesTotal,
    long BytesDone,
    long? BytesTotal,
    string? Message = null);
