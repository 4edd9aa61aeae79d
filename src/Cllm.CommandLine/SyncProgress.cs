using System;

namespace Cllm.CommandLine;

/// <summary>Runs the callback on the reporting thread (System.Progress would post it to the thread pool, out of order).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
