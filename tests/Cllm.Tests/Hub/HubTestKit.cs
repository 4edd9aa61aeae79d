using System;
using System.Collections.Generic;
using System.Threading;
using Cllm.Core;
using Cllm.Tools;

namespace Cllm.Tests.Hub;

/// <summary>Options and data for downloads against a <see cref="FakeHub"/>: no environment, short delays, bounded time.</summary>
internal static class HubTestKit
{
    /// <summary>Every test download is cancelled after this long, so a hang fails instead of blocking the run.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Options pointing at <paramref name="hub"/> that ignore the machine's HF_* variables; <paramref name="token"/>
    /// "" sends none.
    /// </summary>
    public static HubDownloadOptions Options(FakeHub hub, string? token = "", IReadOnlyList<string>? include = null, IReadOnlyList<string>? exclude = null, Uri? endpoint = null) => new()
    {
        Endpoint = (endpoint ?? hub.Url).AbsoluteUri,
        Token = token,
        Include = include ?? Array.Empty<string>(),
        Exclude = exclude ?? Array.Empty<string>(),
        MaxRetries = 3,
        RetryDelay = TimeSpan.FromMilliseconds(5),
        ReadTimeout = TimeSpan.FromSeconds(10),
        Environment = _ => null,
    };

    /// <summary>Options that take the endpoint (and, with a null <paramref name="token"/>, the token) from <paramref name="environment"/>.</summary>
    public static HubDownloadOptions EnvironmentOptions(Func<string, string?> environment, string? token = null) => new()
    {
        Token = token,
        RetryDelay = TimeSpan.FromMilliseconds(5),
        ReadTimeout = TimeSpan.FromSeconds(10),
        Environment = environment,
    };

    /// <summary>A token source that cancels after <see cref="Deadline"/>.</summary>
    public static CancellationTokenSource Timeout() => new(Deadline);

    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Bytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
