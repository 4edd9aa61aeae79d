using System;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>A failure worth retrying: a dropped connection, a timeout, a 5xx/429/408 answer, a transfer that ended early.</summary>
internal sealed class HubTransientException : Exception
{
    public HubTransientException(string message, Exception? inner = null, TimeSpan? retryAfter = null)
        : base(message, inner)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>How long the server asked us to wait (Retry-After), if it did.</summary>
    public TimeSpan? RetryAfter { get; }
}
