using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>
/// Downloads a model repository from the Hugging Face hub (or a mirror at <c>HF_ENDPOINT</c>) into a plain folder
/// that <c>CllmBuilder.FromCheckpoint</c> can load.
/// </summary>
/// <remarks>
/// The file list, sizes and LFS SHA-256 hashes come from <c>/api/models/{repo}/revision/{revision}</c>; every file is
/// then fetched at the commit that answer names, so a branch moving mid-download cannot mix two commits. Each file is
/// written to <c>&lt;file&gt;.incomplete</c>, resumed with <c>Range</c> after a dropped connection (or in a later run
/// for LFS files, whose hash proves the result), checked for size and SHA-256, and renamed into place. Files already
/// present with the right size (and hash) are skipped. Files are fetched one at a time.
/// </remarks>
public sealed class HubDownloader : IDisposable
{
    /// <summary>Suffix of the partial file a download writes before it is verified and renamed.</summary>
    public const string PartialSuffix = ".incomplete";

    private const int BufferSize = 1 << 20;
    private const long ReportEvery = 256 * 1024;
    private const int MaxListingBytes = 64 << 20;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    private readonly HubDownloadOptions _options;
    private readonly HubConnection _connection;

    /// <summary>Creates a downloader; the endpoint and token are resolved now (from the options or the environment).</summary>
    /// <exception cref="ArgumentException">The endpoint is not an http(s) URL, or a pattern or limit is invalid.</exception>
    public HubDownloader(HubDownloadOptions? options = null)
    {
        _options = options ?? new HubDownloadOptions();
        _options.Validate();
        Endpoint = _options.ResolveEndpoint();
        _connection = new HubConnection(Endpoint, _options.ResolveToken(), _options.ReadTimeout);
    }

    /// <summary>The hub base URL in use.</summary>
    public Uri Endpoint { get; }

    /// <summary>True when a token (from the options or <c>HF_TOKEN</c>) is sent to the hub.</summary>
    public bool HasToken => _connection.HasToken;

    /// <summary>
    /// Downloads the selected files of <paramref name="repoId"/> at <paramref name="revision"/> into
    /// <paramref name="outputDir"/> (created if missing), keeping the repository's folder layout.
    /// </summary>
    /// <param name="repoId">The model repository, <c>owner/name</c>.</param>
    /// <param name="outputDir">Target folder.</param>
    /// <param name="revision">Branch, tag or commit; null means <c>main</c>.</param>
    /// <param name="progress">Receives per-file and overall byte counts; called on the downloading thread.</param>
    /// <param name="cancellationToken">Stops the download; partial files stay for a later resume.</param>
    /// <exception cref="ArgumentException">The repository id or revision is malformed.</exception>
    /// <exception cref="HubException">
    /// The hub refused (401/403: private or gated, set <c>HF_TOKEN</c>; 404: repository, revision or file not found), a
    /// file name from the hub would escape the output folder, no file matches the patterns, a file failed its size or
    /// SHA-256 check (its partial file is deleted), transient failures outlasted the retries, or a local file could not
    /// be written.
    /// </exception>
    public async Task<DownloadResult> DownloadAsync(
        string repoId,
        string outputDir,
        string? revision = "main",
        IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        HubPaths.CheckRepoId(repoId);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDir);
        revision ??= "main";
        HubPaths.CheckRevision(revision);
        var clock = Stopwatch.StartNew();
        var root = Path.GetFullPath(outputDir);

        var infoUrl = HubPaths.ModelInfoUrl(Endpoint, repoId, revision);
        var info = await GetInfoAsync(infoUrl, repoId, revision, cancellationToken).ConfigureAwait(false);
        var selected = Select(info, infoUrl.AbsoluteUri, root);
        var fetchAt = HubPaths.IsCommitId(info.Commit) ? info.Commit! : revision;
        CreateFolder(root);

        var run = new Run(progress, selected.Count, selected.All(s => s.File.Size is not null) ? selected.Sum(s => s.File.Size!.Value) : null);
        var files = new List<DownloadedFile>(selected.Count);
        foreach (var (file, target) in selected)
        {
            run.StartFile(file);
            files.Add(await FetchAsync(repoId, fetchAt, file, target, run, cancellationToken).ConfigureAwait(false));
        }

        return new DownloadResult(repoId, revision, info.Commit, root, files, run.Transferred, clock.Elapsed);
    }

    /// <inheritdoc/>
    public void Dispose() => _connection.Dispose();

    private async Task<HubRepoInfo> GetInfoAsync(Uri url, string repoId, string revision, CancellationToken cancellationToken)
    {
        string notFound = $"repository '{repoId}' or revision '{revision}' not found";
        for (int failures = 0; ;)
        {
            try
            {
                using var response = await _connection.GetAsync(url, 0, notFound, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new HubException(url.AbsoluteUri, $"unexpected answer {(int)response.StatusCode} {response.ReasonPhrase}", (int)response.StatusCode);
                }

                using var buffer = new MemoryStream();
                await CopyBodyAsync(response, url, buffer, url.AbsoluteUri, _ =>
                {
                    if (buffer.Length > MaxListingBytes)
                    {
                        throw new HubException(url.AbsoluteUri, $"the model description is larger than {MaxListingBytes >> 20} MiB");
                    }
                }, cancellationToken).ConfigureAwait(false);
                try
                {
                    using var document = JsonDocument.Parse(buffer.ToArray());
                    return HubRepoInfo.Parse(document.RootElement, url.AbsoluteUri);
                }
                catch (JsonException ex)
                {
                    throw new HubException(url.AbsoluteUri, $"the model description is not valid JSON: {ex.Message}", inner: ex);
                }
            }
            catch (HubTransientException ex)
            {
                if (++failures > _options.MaxRetries)
                {
                    throw GiveUp(url, failures, ex);
                }

                await Task.Delay(Backoff(failures, ex.RetryAfter), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The files the patterns select, each with its local path; every selected name is checked before anything is written.</summary>
    private List<(HubRepoFile File, string Target)> Select(HubRepoInfo info, string url, string root)
    {
        var selected = new List<(HubRepoFile, string)>();
        foreach (var file in info.Files.Where(f => FilePattern.Selects(_options.Include, _options.Exclude, f.Path)))
        {
            var reason = HubPaths.UnsafeReason(file.Path);
            var target = reason is null ? HubPaths.LocalPath(root, file.Path) : null;
            if (target is null)
            {
                throw new HubException(url, $"refusing file name '{HubPaths.Printable(file.Path)}': {reason ?? "it would be written outside the output folder"}");
            }

            selected.Add((file, target));
        }

        if (selected.Count == 0 && info.Files.Count > 0)
        {
            var names = string.Join(", ", info.Files.Take(12).Select(f => HubPaths.Printable(f.Path))) + (info.Files.Count > 12 ? ", ..." : string.Empty);
            throw new HubException(url, $"no file matches include [{string.Join(", ", _options.Include)}] exclude [{string.Join(", ", _options.Exclude)}]; the repository has {info.Files.Count} files: {names}");
        }

        return selected;
    }

    private async Task<DownloadedFile> FetchAsync(string repoId, string fetchAt, HubRepoFile file, string target, Run run, CancellationToken cancellationToken)
    {
        string partial = target + PartialSuffix;
        if (file.Size is long expected && File.Exists(target) && Length(target) == expected)
        {
            if (file.Sha256 is not null)
            {
                run.Report(DownloadEvent.Verifying, expected);
            }

            if (file.Sha256 is null || await Sha256Async(target, cancellationToken).ConfigureAwait(false) == file.Sha256)
            {
                Delete(partial);                                                               // a leftover from an older run
                run.Report(DownloadEvent.FileSkipped, expected);
                run.FinishFile(expected);
                return new DownloadedFile(file.Path, target, expected, file.Sha256, Skipped: true);
            }
        }

        CreateFolder(Path.GetDirectoryName(target)!);
        var url = HubPaths.ResolveUrl(Endpoint, repoId, fetchAt, file.Path);

        // A partial file left by an earlier run may come from another commit: keep it only when an LFS hash will prove
        // the result, and if that check fails, start over once before blaming the server.
        bool fromEarlierRun = File.Exists(partial) && file.Sha256 is not null && (file.Size is not long listed || Length(partial) <= listed);
        if (!fromEarlierRun)
        {
            Delete(partial);
        }

        while (true)
        {
            run.Report(DownloadEvent.FileStarted, Length(partial));
            await TransferAsync(url, partial, file, run, cancellationToken).ConfigureAwait(false);
            long length = Length(partial);
            run.Report(DownloadEvent.Verifying, length);
            string? problem = file.Size is long size && length != size
                ? $"'{file.Path}' from {url} is {length} bytes, but the hub lists {size}"
                : null;
            if (problem is null && file.Sha256 is not null)
            {
                string actual = await Sha256Async(partial, cancellationToken).ConfigureAwait(false);
                if (actual != file.Sha256)
                {
                    problem = $"SHA-256 mismatch for '{file.Path}' from {url}: expected {file.Sha256}, got {actual}";
                }
            }

            if (problem is null)
            {
                break;
            }

            Delete(partial);
            if (!fromEarlierRun)
            {
                throw new HubException(target, problem + "; the partial download was deleted");
            }

            fromEarlierRun = false;
        }

        long done = Length(partial);
        try
        {
            File.Move(partial, target, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HubException(target, $"cannot move the verified download into place: {ex.Message}", inner: ex);
        }

        run.Report(DownloadEvent.FileCompleted, done);
        run.FinishFile(done);
        return new DownloadedFile(file.Path, target, done, file.Sha256, Skipped: false);
    }

    /// <summary>Brings <paramref name="partial"/> to the file's full length, retrying transient failures and resuming each time.</summary>
    private async Task TransferAsync(Uri url, string partial, HubRepoFile file, Run run, CancellationToken cancellationToken)
    {
        for (int failures = 0; ;)
        {
            long have = Length(partial);
            if (file.Size is long size && have == size && File.Exists(partial))
            {
                return;
            }

            try
            {
                await TransferOnceAsync(url, partial, have, file, run, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (HubTransientException ex)
            {
                if (Length(partial) > have)
                {
                    failures = 0;                                                              // progress earns a fresh set of retries
                }

                if (++failures > _options.MaxRetries)
                {
                    throw GiveUp(url, failures, ex);
                }

                run.Report(DownloadEvent.Retrying, Length(partial), ex.Message);
                await Task.Delay(Backoff(failures, ex.RetryAfter), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task TransferOnceAsync(Uri url, string partial, long have, HubRepoFile file, Run run, CancellationToken cancellationToken)
    {
        string notFound = $"file '{file.Path}' not found at this revision";
        using var response = await _connection.GetAsync(url, have, notFound, cancellationToken).ConfigureAwait(false);
        var via = _connection.Via(response.RequestMessage?.RequestUri ?? url);
        bool append;
        switch (response.StatusCode)
        {
            case HttpStatusCode.OK:
                append = false;                                                                // no range support: start over
                break;
            case HttpStatusCode.PartialContent when response.Content.Headers.ContentRange is { From: long from } && from == have:
                append = have > 0;
                break;
            case HttpStatusCode.PartialContent:
            case HttpStatusCode.RequestedRangeNotSatisfiable:
                Delete(partial);
                throw new HubTransientException($"{url}{via}: answered {(int)response.StatusCode} ({response.Content.Headers.ContentRange}) to a request for bytes {have}-; starting over");
            default:
                throw new HubException(url.AbsoluteUri, $"unexpected answer {(int)response.StatusCode} {response.ReasonPhrase}{via}", (int)response.StatusCode);
        }

        FileStream output;
        try
        {
            output = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0, useAsync: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HubException(partial, $"cannot write: {ex.Message}", inner: ex);
        }

        long length;
        await using (output.ConfigureAwait(false))
        {
            run.SetFileBytes(append ? have : 0);
            await CopyBodyAsync(response, url, output, partial, run.Advance, cancellationToken).ConfigureAwait(false);
            try
            {
                output.Flush(flushToDisk: true);
            }
            catch (IOException ex)
            {
                throw new HubException(partial, $"cannot write: {ex.Message}", inner: ex);
            }

            length = output.Length;
        }

        if (file.Size is long size && length < size)
        {
            throw new HubTransientException($"{url}{via}: the transfer ended after {length} of {size} bytes");
        }
    }

    /// <summary>
    /// Copies the response body into <paramref name="output"/>. A body that stalls for longer than the read timeout
    /// or breaks off is a transient failure; a failed write is a <see cref="HubException"/> naming <paramref name="outputName"/>.
    /// </summary>
    private async Task CopyBodyAsync(HttpResponseMessage response, Uri url, Stream output, string outputName, Action<int> onBytes, CancellationToken cancellationToken)
    {
        var via = _connection.Via(response.RequestMessage?.RequestUri ?? url);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var buffer = new byte[BufferSize];
        try
        {
            using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                timeout.CancelAfter(_connection.ReadTimeout);
                int read = await body.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                try
                {
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
                catch (IOException ex)
                {
                    throw new HubException(outputName, $"cannot write: {ex.Message}", inner: ex);
                }

                onBytes(read);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HubTransientException($"{url}{via}: no data for {_connection.ReadTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw new HubTransientException($"{url}{via}: {ex.Message}", ex);
        }
    }

    private TimeSpan Backoff(int failures, TimeSpan? retryAfter)
    {
        var delay = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, _options.RetryDelay.Ticks * (1L << Math.Min(failures - 1, 20))));
        return retryAfter is { } asked && asked > delay ? (asked < MaxRetryAfter ? asked : MaxRetryAfter) : delay;
    }

    private static HubException GiveUp(Uri url, int attempts, HubTransientException last) =>
        new(url.AbsoluteUri, string.Create(CultureInfo.InvariantCulture, $"giving up after {attempts} attempts; last failure: {last.Message}"), inner: last);

    private static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true);
            return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HubException(path, $"cannot read: {ex.Message}", inner: ex);
        }
    }

    private static long Length(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? info.Length : 0;
    }

    private static void CreateFolder(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HubException(folder, $"cannot create the folder: {ex.Message}", inner: ex);
        }
    }

    private static void Delete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HubException(path, $"cannot delete: {ex.Message}", inner: ex);
        }
    }

    /// <summary>Byte counts of one download call, and the progress reports made from them.</summary>
    private sealed class Run(IProgress<DownloadProgress>? progress, int fileCount, long? bytesTotal)
    {
        private HubRepoFile? _file;
        private int _fileIndex;
        private long _finishedBytes;
        private long _fileBytes;
        private long _lastReported;

        public long Transferred { get; private set; }

        public void StartFile(HubRepoFile file)
        {
            _file = file;
            _fileIndex++;
            _fileBytes = 0;
        }

        public void SetFileBytes(long bytes)
        {
            _fileBytes = bytes;
            Report(DownloadEvent.FileBytes, bytes);
        }

        public void Advance(int bytes)
        {
            _fileBytes += bytes;
            Transferred += bytes;
            if (_fileBytes - _lastReported >= ReportEvery)
            {
                Report(DownloadEvent.FileBytes, _fileBytes);
            }
        }

        public void FinishFile(long size) => _finishedBytes += size;

        public void Report(DownloadEvent kind, long fileBytes, string? message = null)
        {
            _fileBytes = fileBytes;
            _lastReported = fileBytes;
            progress?.Report(new DownloadProgress(kind, _file!.Path, _fileIndex, fileCount, fileBytes, _file.Size, _finishedBytes + fileBytes, bytesTotal, message));
        }
    }
}
