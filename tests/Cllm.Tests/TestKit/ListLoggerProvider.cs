using System;
using System.Collections.Generic;
using Microsoft.Extensions.Logging;

namespace Cllm.Tests.TestKit;

/// <summary>A logger provider that keeps every formatted message, at every level, from any thread.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    public List<string> Messages { get; } = new();

    /// <summary>A copy of the messages so far.</summary>
    public string[] Snapshot()
    {
        lock (Messages)
        {
            return Messages.ToArray();
        }
    }

    public ILogger CreateLogger(string categoryName) => new ListLogger(Messages);

    public void Dispose()
    {
    }

    private sealed class ListLogger(List<string> messages) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (messages)
            {
                messages.Add(formatter(state, exception));
            }
        }
    }
}
