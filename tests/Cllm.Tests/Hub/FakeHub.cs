using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Cllm.Tools;

namespace Cllm.Tests.Hub;

/// <summary>
/// A tiny HTTP/1.1 server on 127.0.0.1 (a free port) that imitates the hub for one repository: the model API
/// (<c>/api/models/{repo}/revision/{rev}</c>), <c>/{repo}/resolve/{rev}/{path}</c> with byte ranges, and
/// <c>/blobs/{key}</c> for when it plays the storage host an LFS download is redirected to. One request per
/// connection. Switches simulate the failures the downloader must survive; every request is recorded.
/// </summary>
internal sealed class FakeHub : IAsyncDisposable
{
    public const string DefaultCommit = "0123456789abcdef0123456789abcdef01234567";

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly ConcurrentDictionary<Task, bool> _handlers = new();
    private readonly List<FakeFile> _files = new();

    public FakeHub(string repoId = "org/tiny", string commit = DefaultCommit)
    {
        RepoId = repoId;
        Commit = commit;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public Uri Url { get; }

    public string RepoId { get; }

    public string Commit { get; }

    /// <summary>Requests received, in arrival order.</summary>
    public ConcurrentQueue<FakeRequest> Requests { get; } = new();

    /// <summary>Bytes served at <c>/blobs/{key}</c>.</summary>
    public ConcurrentDictionary<string, byte[]> Blobs { get; } = new();

    /// <summary>When set, the API and resolve routes answer 401 unless <c>Authorization: Bearer {token}</c> is sent.</summary>
    public string? RequiredToken { get; set; }

    /// <summary>Served name (repo path or blob key) → K: the next response for it sends K body bytes and closes the connection.</summary>
    public ConcurrentDictionary<string, long> InterruptAfter { get; } = new();

    /// <summary>Answer every ranged request with 200 and the whole file.</summary>
    public bool IgnoreRange { get; set; }

    /// <summary>A second server acting as the storage host: LFS files are redirected there (302 to its <c>/blobs/{sha}</c>).</summary>
    public FakeHub? Cdn { get; set; }

    /// <summary>Runs before the routes; a non-null answer is sent instead.</summary>
    public Func<FakeRequest, FakeResponse?>? Intercept { get; set; }

    public IReadOnlyList<FakeFile> Files => _files;

    /// <summary>Adds a file to the repository listing; <paramref name="listedSha256"/> overrides the LFS hash the API reports.</summary>
    public FakeFile Add(string path, byte[] content, bool lfs = false, string? listedSha256 = null, bool listSize = true)
    {
        var file = new FakeFile(path, content, lfs, listedSha256 ?? Sha256(content), listSize);
        _files.Add(file);
        return file;
    }

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>Recorded requests whose path (without query) starts with <paramref name="prefix"/>.</summary>
    public List<FakeRequest> RequestsTo(string prefix) => Requests.Where(r => r.Path.StartsWith(prefix, StringComparison.Ordinal)).ToList();

    /// <summary>Recorded resolve requests for <paramref name="file"/> (any revision).</summary>
    public List<FakeRequest> ResolveRequests(string file) =>
        Requests.Where(r => r.Path.StartsWith($"/{RepoId}/resolve/", StringComparison.Ordinal) && r.Path.EndsWith("/" + file, StringComparison.Ordinal)).ToList();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await Task.WhenAny(Task.WhenAll(_handlers.Keys.Append(_acceptLoop)), Task.Delay(TimeSpan.FromSeconds(5)));
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var handler = HandleAsync(client);
            _handlers[handler] = true;
            _ = handler.ContinueWith(t => _handlers.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                var stream = client.GetStream();
                var request = await ReadRequestAsync(stream, timeout.Token);
                if (request is null)
                {
                    return;
                }

                Requests.Enqueue(request);
                var (response, interruptAfter) = Route(request);
                await WriteAsync(stream, response, interruptAfter, timeout.Token);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away or the server is stopping.
            }
        }
    }

    private (FakeResponse Response, long? InterruptAfter) Route(FakeRequest request)
    {
        if (Intercept?.Invoke(request) is { } intercepted)
        {
            return (intercepted, null);
        }

        var path = request.Path;
        if (path.StartsWith("/blobs/", StringComparison.Ordinal))
        {
            var key = path["/blobs/".Length..];
            return Blobs.TryGetValue(key, out var blob) ? Serve(request, key, blob) : (FakeResponse.Text(404, "no such blob"), null);
        }

        bool authorized = RequiredToken is null || request.Header("Authorization") == "Bearer " + RequiredToken;
        string apiPrefix = $"/api/models/{RepoId}/revision/";
        string resolvePrefix = $"/{RepoId}/resolve/";
        if (path.StartsWith(apiPrefix, StringComparison.Ordinal))
        {
            if (!authorized)
            {
                return (FakeResponse.Text(401, "Invalid credentials"), null);
            }

            var revision = Uri.UnescapeDataString(path[apiPrefix.Length..]);
            return KnownRevision(revision) ? (FakeResponse.Json(ModelInfo()), null) : (RevisionNotFound(), null);
        }

        if (path.StartsWith(resolvePrefix, StringComparison.Ordinal))
        {
            if (!authorized)
            {
                return (FakeResponse.Text(401, "Invalid credentials"), null);
            }

            var rest = path[resolvePrefix.Length..];
            int slash = rest.IndexOf('/', StringComparison.Ordinal);
            var revision = Uri.UnescapeDataString(rest[..slash]);
            var name = string.Join('/', rest[(slash + 1)..].Split('/').Select(Uri.UnescapeDataString));
            if (!KnownRevision(revision))
            {
                return (RevisionNotFound(), null);
            }

            var file = _files.FirstOrDefault(f => f.Path == name);
            if (file is null)
            {
                return (FakeResponse.Text(404, "Entry not found", ("X-Error-Code", "EntryNotFound")), null);
            }

            if (Cdn is not null && file.Lfs)
            {
                var key = Sha256(file.Content);
                Cdn.Blobs[key] = file.Content;
                return (FakeResponse.Text(302, "Found", ("Location", $"{Cdn.Url.AbsoluteUri}blobs/{key}?X-Signature=s3cr3t")), null);
            }

            return Serve(request, name, file.Content);
        }

        return (FakeResponse.Text(404, "Repository not found", ("X-Error-Code", "RepoNotFound")), null);
    }

    private bool KnownRevision(string revision) => revision is "main" || revision == Commit;

    private static FakeResponse RevisionNotFound() => FakeResponse.Text(404, "Revision not found", ("X-Error-Code", "RevisionNotFound"));

    /// <summary>The whole content (200) or the tail a <c>Range: bytes=N-</c> asks for (206/416), maybe cut short.</summary>
    private (FakeResponse, long?) Serve(FakeRequest request, string name, byte[] content)
    {
        long? interrupt = InterruptAfter.TryRemove(name, out long k) ? k : null;
        var range = request.Header("Range");
        if (range is null || IgnoreRange)
        {
            return (new FakeResponse(200, content), interrupt);
        }

        if (!range.StartsWith("bytes=", StringComparison.Ordinal) || !range.EndsWith('-')
            || !long.TryParse(range["bytes=".Length..^1], NumberStyles.None, CultureInfo.InvariantCulture, out long from))
        {
            return (FakeResponse.Text(400, "unsupported Range " + range), null);
        }

        if (from >= content.Length)
        {
            return (new FakeResponse(416, Array.Empty<byte>(), new[] { ("Content-Range", $"bytes */{content.Length}") }), null);
        }

        var tail = content.AsSpan((int)from).ToArray();
        return (new FakeResponse(206, tail, new[] { ("Content-Range", $"bytes {from}-{content.Length - 1}/{content.Length}") }), interrupt);
    }

    private byte[] ModelInfo()
    {
        var siblings = _files.Select(f =>
        {
            var entry = new Dictionary<string, object> { ["rfilename"] = f.Path };
            if (f.ListSize)
            {
                entry["size"] = f.Content.Length;
            }

            if (f.Lfs)
            {
                entry["lfs"] = new Dictionary<string, object> { ["sha256"] = f.ListedSha256, ["size"] = f.Content.Length, ["pointerSize"] = 134 };
            }

            return entry;
        }).ToList();
        return JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["id"] = RepoId, ["sha"] = Commit, ["siblings"] = siblings });
    }

    private static async Task<FakeRequest?> ReadRequestAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 65536)
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0)
            {
                return null;
            }

            head.Add(one[0]);
            if (head.Count >= 4 && head[^1] == '\n' && head[^2] == '\r' && head[^3] == '\n' && head[^4] == '\r')
            {
                break;
            }
        }

        var lines = Encoding.Latin1.GetString(head.ToArray()).Split("\r\n");
        var parts = lines[0].Split(' ');
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        return new FakeRequest(parts[0], parts[1], headers);
    }

    private static async Task WriteAsync(NetworkStream stream, FakeResponse response, long? interruptAfter, CancellationToken cancellationToken)
    {
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.Status} {Reason(response.Status)}\r\n");
        head.Append(CultureInfo.InvariantCulture, $"Content-Length: {response.Body.Length}\r\n");
        head.Append("Connection: close\r\n");
        foreach (var (name, value) in response.Headers ?? Array.Empty<(string, string)>())
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        head.Append("\r\n");
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head.ToString()), cancellationToken);
        int length = interruptAfter is long k ? (int)Math.Min(k, response.Body.Length) : response.Body.Length;
        await stream.WriteAsync(response.Body.AsMemory(0, length), cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
}
