using System;
using System.Collections.Generic;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>Where and how <see cref="HubDownloader"/> downloads, and which files.</summary>
public sealed class HubDownloadOptions
{
    /// <summary>The public Hugging Face hub.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>Environment variable naming the hub endpoint (a mirror, or a local server).</summary>
    public const string EndpointVariable = "HF_ENDPOINT";

    /// <summary>Environment variable holding the access token for private and gated repositories.</summary>
    public const string TokenVariable = "HF_TOKEN";

    /// <summary>Hub base URL; null reads <c>HF_ENDPOINT</c>, then falls back to <see cref="DefaultEndpoint"/>.</summary>
    public string? Endpoint { get; init; }

    /// <summary>
    /// Access token, sent as <c>Authorization: Bearer</c> to the hub's own host only (never to the storage host it
    /// redirects to). Null reads <c>HF_TOKEN</c>; an empty string sends no token even when <c>HF_TOKEN</c> is set.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>
    /// Glob patterns of repository paths to fetch (<c>*</c> matches any run of characters including '/', <c>?</c> one
    /// character; a pattern ending in '/' means the whole folder), e.g. <c>*.json</c>, <c>*.safetensors</c>,
    /// <c>tokenizer.model</c>. Empty fetches every file.
    /// </summary>
    public IReadOnlyList<string> Include { get; init; } = Array.Empty<string>();

    /// <summary>Glob patterns of repository paths to leave out, applied after <see cref="Include"/>.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = Array.Empty<string>();

    /// <summary>Retries after a transient failure (dropped connection, timeout, 5xx); the count restarts whenever bytes arrive.</summary>
    public int MaxRetries { get; init; } = 4;

    /// <summary>Delay before the first retry; doubled for each further one, capped at 30 seconds.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait for a connection, for response headers, or for the next bytes of a body.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Environment lookup; tests substitute their own so they never see the machine's variables.</summary>
    internal Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>The endpoint to use: <see cref="Endpoint"/>, <c>HF_ENDPOINT</c> or the default, checked to be an absolute http(s) URL.</summary>
    internal Uri ResolveEndpoint()
    {
        var (text, source) = Endpoint is not null
            ? (Endpoint, "Endpoint")
            : Environment(EndpointVariable) is { Length: > 0 } fromEnvironment ? (fromEnvironment, EndpointVariable) : (DefaultEndpoint, "default endpoint");
        if (!Uri.TryCreate(text.Trim().TrimEnd('/'), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new ArgumentException($"{source} '{text}' is not an http(s) base URL such as {DefaultEndpoint}.");
        }

        return uri;
    }

    /// <summary>The token to send: <see cref="Token"/> or <c>HF_TOKEN</c>; null when there is none.</summary>
    internal string? ResolveToken()
    {
        var token = (Token ?? Environment(TokenVariable))?.Trim();
        return string.IsNullOrEmpty(token) ? null : token;
    }

    /// <summary>Throws <see cref="ArgumentException"/> for settings that cannot work.</summary>
    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Include, nameof(Include));
        ArgumentNullException.ThrowIfNull(Exclude, nameof(Exclude));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRetries, nameof(MaxRetries));
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryDelay, TimeSpan.Zero, nameof(RetryDelay));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ReadTimeout, TimeSpan.Zero, nameof(ReadTimeout));
        foreach (var pattern in Include)
        {
            FilePattern.Check(pattern, "include");
        }

        foreach (var pattern in Exclude)
        {
            FilePattern.Check(pattern, "exclude");
        }
    }
}
