using System;
using System.Collections.Generic;
using Cllm.Core;
using Cllm.Tools;

namespace Cllm.Tests.Hub;

/// <summary>Records progress reports synchronously (unlike <see cref="Progress{T}"/>, which posts them).</summary>
internal sealed class ProgressLog : IProgress<DownloadProgress>
{
    private readonly List<DownloadProgress> _reports = new();

    /// <summary>Called after each report is recorded.</summary>
    public Action<DownloadProgress>? OnReport { get; init; }

    public IReadOnlyList<DownloadProgress> Reports
    {
        get
        {
            lock (_reports)
            {
                return _reports.ToArray();
            }
        }
    }

    public void Report(DownloadProgress value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }

        OnReport?.Invoke(value);
    }
}
