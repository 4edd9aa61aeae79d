using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>
/// HTTP GETs against one hub endpoint: the token goes only to the endpoint's own origin, redirects are followed by
/// hand (so the token is dropped on the way to a storage host and https is never downgraded), HTTP errors become
/// <see cref="HubException"/>s that say what to do, and failures worth retrying become <see cref="HubTransientException"/>s.
/// </summary>
internal sealed class HubConnection : IDisposable
{
    private const int MaxRedirects = 10;
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string? _token;

    public HubConnection(Uri endpoint, string? token, TimeSpan readTimeout)
    {
        _endpoint = endpoint;
        _token = token;
        ReadTimeout = readTimeout;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,                     // byte ranges must count stored bytes
            ConnectTimeout = readTimeout,
            Proxy = new LoopbackBypassProxy(HttpClient.DefaultProxy),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };   // per-phase timeouts below
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("cllm", typeof(HubConnection).Assembly.GetName().Version?.ToString(3) ?? "0"));
    }

    /// <summary>Longest wait for response headers or for the next bytes of a body.</summary>
    public TimeSpan ReadTimeout { get; }

    /// <summary>True when requests to the hub carry a token.</summary>
    public bool HasToken => _token is not null;

    /// <summary>
    /// GETs <paramref name="url"/> (on the hub), following redirects, optionally from byte <paramref name="rangeStart"/>.
    /// Returns the response for 2xx and 416 (range not satisfiable) with the body unread; the caller disposes it.
    /// </summary>
    /// <param name="url">A URL on the hub endpoint; errors name it (never a signed storage URL).</param>
    /// <param name="rangeStart">Send <c>Range: bytes=N-</c> when positive.</param>
    /// <param name="notFound">The problem to report for a 404.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<HttpResponseMessage> GetAsync(Uri url, long rangeStart, string notFound, CancellationToken cancellationToken)
    {
        var current = url;
        for (int hop = 0; hop <= MaxRedirects; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            if (_token is not null && SameOrigin(current, _endpoint))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            }

            if (rangeStart > 0)
            {
                request.Headers.Range = new RangeHeaderValue(rangeStart, null);
            }

            var response = await SendAsync(request, url, current, cancellationToken).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (status is 301 or 302 or 303 or 307 or 308)
            {
                using (response)
                {
                    current = RedirectTarget(url, current, response.Headers.Location);
                }

                continue;
            }

            if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                return response;
            }

            using (response)
            {
                throw Failure(url, current, response, notFound);
            }
        }

        throw new HubException(url.AbsoluteUri, $"more than {MaxRedirects} redirects");
    }

    /// <summary>A short description of where <paramref name="finalUrl"/> is, for messages: empty on the hub itself.</summary>
    public string Via(Uri finalUrl) => SameOrigin(finalUrl, _endpoint) ? string.Empty : $" (redirected to {finalUrl.Host})";

    public void Dispose() => _http.Dispose();

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, Uri url, Uri current, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReadTimeout);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HubTransientException($"{url}{Via(current)}: no response within {ReadTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            throw new HubTransientException($"{url}{Via(current)}: {ex.Message}", ex);
        }
    }

    private static Uri RedirectTarget(Uri url, Uri current, Uri? location)
    {
        if (location is null)
        {
            throw new HubException(url.AbsoluteUri, "the server answered with a redirect without a Location");
        }

        var next = location.IsAbsoluteUri ? location : new Uri(current, location);
        if (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps)
        {
            throw new HubException(url.AbsoluteUri, $"refusing a redirect to a {next.Scheme}: URL");
        }

        if (current.Scheme == Uri.UriSchemeHttps && next.Scheme != Uri.UriSchemeHttps)
        {
            throw new HubException(url.AbsoluteUri, $"refusing a redirect from https to plain http ({next.Host})");
        }

        return next;
    }

    private Exception Failure(Uri url, Uri current, HttpResponseMessage response, string notFound)
    {
        int status = (int)response.StatusCode;
        string reason = $"{status} {response.ReasonPhrase}".TrimEnd();
        string? code = Header(response, "X-Error-Code");
        string? hubMessage = Header(response, "X-Error-Message");
        string detail = hubMessage is null ? string.Empty : $" (hub says: {hubMessage})";
        if (status >= 500 || status is 408 or 429)
        {
            return new HubTransientException($"{url}{Via(current)}: {reason}{detail}", retryAfter: RetryAfter(response));
        }

        string problem = status switch
        {
            401 or 403 or 404 when code == "RepoNotFound" =>
                $"{reason}: repository not found; if it is private, set {HubDownloadOptions.TokenVariable} to an access token that can read it",
            401 or 403 when code == "GatedRepo" => _token is null
                ? $"{reason}: this is a gated model; accept its terms on the hub, then set {HubDownloadOptions.TokenVariable} to an access token of that account"
                : $"{reason}: this is a gated model and the token in {HubDownloadOptions.TokenVariable} has no access yet; accept its terms on the hub with that account",
            401 or 403 => _token is null
                ? $"{reason}: the repository is private or gated (or does not exist); set {HubDownloadOptions.TokenVariable} to an access token that can read it"
                : $"{reason}: the token in {HubDownloadOptions.TokenVariable} was refused; it is invalid or cannot read this repository (gated models need their terms accepted)",
            404 => code == "RevisionNotFound" ? $"{reason}: revision not found" : $"{reason}: {notFound}",
            _ => reason,
        };
        return new HubException(url.AbsoluteUri, problem + Via(current) + detail, status);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() is { Length: > 0 } v ? v : null : null;

    private static TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow,
        _ => null,
    };

    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port;
}
