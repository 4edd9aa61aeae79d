using System.Collections.Generic;
using Cllm.Tools;

namespace Cllm.Tests.Hub;

/// <summary>A request the <see cref="FakeHub"/> received.</summary>
internal sealed record FakeRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>The target without its query string.</summary>
    public string Path => Target.Split('?')[0];

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}
