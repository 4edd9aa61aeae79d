using System;

namespace Cllm.Reproduction.Pipeline;

/// <summary>An <see cref="IProgress{T}"/> that calls back on the reporting thread (unlike <see cref="Progress{T}"/>).</summary>
/// <typeparam name="T">The progress value.</typeparam>
public sealed class SyncProgress<T> : IProgress<T>
{
    private readonly Action<T> _handler;

    /// <summary>Calls <paramref name="handler"/> for every report.</summary>
    public SyncProgress(Action<T> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _handler = handler;
    }

    /// <inheritdoc />
    public void Report(T value) => _handler(value);
}
