using System.Collections.Generic;
using System.Linq;
using System.Text;
using Cllm.Tools;

namespace Cllm.Tests.Hub;

/// <summary>An answer of the <see cref="FakeHub"/>.</summary>
internal sealed record FakeResponse(int Status, byte[] Body, IReadOnlyList<(string Name, string Value)>? Headers = null)
{
    public static FakeResponse Text(int status, string text, params (string Name, string Value)[] headers) =>
        new(status, Encoding.UTF8.GetBytes(text), headers.Append(("Content-Type", "text/plain")).ToArray());

    public static FakeResponse Json(byte[] json) => new(200, json, new[] { ("Content-Type", "application/json") });
}
