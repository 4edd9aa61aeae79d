using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm.Benchmarks;

/// <summary>
/// One GGUF type on the llama.cpp side of a peer benchmark: its greedy decoder, its ids per request (the same every
/// round, or the run fails), and its per-round speeds with and without the prefill.
/// </summary>
internal sealed class LlamaSide(LlamaWeightType type, LlamaSharpGreedy peer, int requests) : IDisposable
{
    private readonly int[]?[] _ids = new int[requests][];

    public LlamaWeightType Type { get; } = type;

    public string Label => "llama.cpp " + PeerFormats.Label(Type) + " AR";

    /// <summary>Tokens per second per round, prefill included.</summary>
    public List<double> Speeds { get; } = new();

    /// <summary>Tokens per second per round after the prefill (the tokens after the first over the time after the first decode).</summary>
    public List<double> DecodeSpeeds { get; } = new();

    /// <summary>Generated tokens per forward in the last round (the decode that met EOS counts).</summary>
    public double TokensPerForward { get; private set; }

    /// <summary>The greedy ids of request <paramref name="request"/>.</summary>
    public IReadOnlyList<int> Ids(int request) => _ids[request] ?? throw new InvalidOperationException($"{Label} has not decoded request {request} yet.");

    /// <summary>One round: a warm-up request (as DecoderBenchmark does), then every request; returns the round's tokens per second.</summary>
    public double RunRound(IReadOnlyList<DecodeRequest> requests, int round)
    {
        Decode(requests[0]);
        int tokens = 0, forwards = 0, decodeTokens = 0;
        double seconds = 0, decodeSeconds = 0;
        for (int r = 0; r < requests.Count; r++)
        {
            var (ids, elapsed, prefill, f) = Decode(requests[r]);
            if (_ids[r] is { } earlier && !earlier.SequenceEqual(ids))
            {
                throw new InvalidOperationException($"{Label} gave different ids for request {r} in round {round + 1}.");
            }

            _ids[r] = ids;
            tokens += ids.Length;
            forwards += f;
            seconds += elapsed.TotalSeconds;
            decodeTokens += Math.Max(0, ids.Length - 1);
            decodeSeconds += (elapsed - prefill).TotalSeconds;
        }

        Speeds.Add(tokens / seconds);
        DecodeSpeeds.Add(decodeTokens == 0 || decodeSeconds <= 0 ? double.NaN : decodeTokens / decodeSeconds);
        TokensPerForward = (double)tokens / forwards;
        return Speeds[^1];
    }

    public void Dispose() => peer.Dispose();

    private (int[] Ids, TimeSpan Elapsed, TimeSpan Prefill, int Forwards) Decode(DecodeRequest request) =>
        peer.Decode(request.PromptIds, request.Options.MaxNewTokens ?? GenerationOptions.DefaultMaxNewTokens, request.Options.StopTokenIds ?? Array.Empty<int>());
}
