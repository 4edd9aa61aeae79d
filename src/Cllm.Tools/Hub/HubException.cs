using System;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>
/// A download from the Hugging Face hub failed. The message names the URL or local file at fault and what is
/// wrong with it; it never contains the access token.
/// </summary>
public sealed class HubException : Exception
{
    public HubException(string location, string problem, int? statusCode = null, Exception? inner = null)
        : base($"{location}: {problem}", inner)
    {
        Location = location;
        Problem = problem;
        StatusCode = statusCode;
    }

    /// <summary>The hub URL or the local file (or folder) at fault.</summary>
    public string Location { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }

    /// <summary>The HTTP status the hub answered with, when the failure is an HTTP error.</summary>
    public int? StatusCode { get; }
}
