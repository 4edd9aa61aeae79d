using System;

namespace Cllm.Tests.TestKit;

/// <summary>An <see cref="IProgress{T}"/> that reports on the reporting thread (System.Progress posts to the thread pool).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
