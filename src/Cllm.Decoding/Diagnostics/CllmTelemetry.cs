using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Cllm;

/// <summary>
/// Cllm's metrics (a <see cref="Meter"/> named "Cllm") and traces (an <see cref="ActivitySource"/> named "Cllm"):
/// requests, generated tokens, forward passes, tokens per forward, Jacobi iterations per block and request duration,
/// tagged with the decoder label; and per model forward (untagged, as one forward may advance requests of several
/// decoders) the requests it advanced and the token positions it computed.
/// </summary>
internal static class CllmTelemetry
{
    /// <summary>The meter and activity source name.</summary>
    public const string Name = "Cllm";

    /// <summary>Traces: one "cllm.decode" activity per request.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name);

    private static readonly Meter Meter = new(Name);
    private static readonly Counter<long> Requests = Meter.CreateCounter<long>("cllm.requests", "{request}", "Finished decode requests");
    private static readonly Counter<long> Tokens = Meter.CreateCounter<long>("cllm.tokens.generated", "{token}", "Generated tokens");
    private static readonly Counter<long> ForwardPasses = Meter.CreateCounter<long>("cllm.forward_passes", "{forward}", "Model forward passes, prefills included");
    private static readonly Histogram<double> TokensPerForward = Meter.CreateHistogram<double>("cllm.tokens_per_forward", "{token}", "Generated tokens per forward pass, per request");
    private static readonly Histogram<int> Iterations = Meter.CreateHistogram<int>("cllm.jacobi.iterations", "{iteration}", "Jacobi iterations (forward passes) per block");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("cllm.request.duration", "s", "Wall-clock time of a decode request");
    private static readonly Histogram<int> BatchRequests = Meter.CreateHistogram<int>("cllm.batch.requests", "{request}", "Requests one model forward advanced");
    private static readonly Counter<long> BatchPositions = Meter.CreateCounter<long>("cllm.batch.positions", "{token}", "Token positions model forwards computed: prompt tokens not taken from a cache, pending tokens and drafts");

    /// <summary>Records a finished request.</summary>
    internal static void RecordRequest(string decoder, DecodeStats stats)
    {
        var tag = new KeyValuePair<string, object?>("cllm.decoder", decoder);
        Requests.Add(1, tag);
        Tokens.Add(stats.GeneratedTokens, tag);
        ForwardPasses.Add(stats.ForwardPasses, tag);
        TokensPerForward.Record(stats.TokensPerForward, tag);
        Duration.Record(stats.Elapsed.TotalSeconds, tag);
        foreach (var iterations in stats.BlockIterations)
        {
            Iterations.Record(iterations, tag);
        }
    }

    /// <summary>Records one model forward: the requests it advanced and the token positions it computed.</summary>
    internal static void RecordForward(int requests, int positions)
    {
        BatchRequests.Record(requests);
        BatchPositions.Add(positions);
    }
}
