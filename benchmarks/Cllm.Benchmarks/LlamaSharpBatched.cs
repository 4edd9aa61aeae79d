using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using LLama;
using LLama.Batched;
using LLama.Common;
using LLama.Native;

namespace Cllm.Benchmarks;

/// <summary>
/// llama.cpp's batched autoregressive decoding through LLamaSharp's <see cref="BatchedExecutor"/>, driven as closed-loop
/// clients: each client's next request starts as its previous one ends and joins the next batch (continuous batching),
/// greedy on token ids. F32 KV cache, no flash attention, as <see cref="LlamaSharpGreedy"/>.
/// </summary>
internal sealed class LlamaSharpBatched : IDisposable
{
    private readonly LLamaWeights _weights;
    private readonly ModelParams _parameters;

    /// <param name="ggufPath">The model.</param>
    /// <param name="threads">llama.cpp threads.</param>
    /// <param name="sequences">Conversations at once at most (the largest client count).</param>
    /// <param name="contextPerSequence">Positions one conversation may hold.</param>
    public LlamaSharpBatched(string ggufPath, int threads, int sequences, int contextPerSequence)
    {
        LlamaSharpGreedy.QuietLogs();
        _parameters = LlamaSharpGreedy.Parameters(ggufPath, threads, sequences * contextPerSequence, Math.Min(sequences * contextPerSequence, 512), sequences);
        _weights = LLamaWeights.LoadFromFile(_parameters);
    }

    /// <summary>One finished request: its ids (EOS excluded), latency and time to first token from the moment it was sent.</summary>
    public sealed record Finished(int Request, int[] Ids, TimeSpan Latency, TimeSpan FirstToken);

    /// <summary>
    /// Runs <paramref name="clients"/> closed-loop clients; client c sends <paramref name="perClient"/>[c] (request indices
    /// into <paramref name="prompts"/>) one after another. Returns every request's outcome and the wall time.
    /// </summary>
    public (List<Finished> Requests, TimeSpan Wall) Run(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<IReadOnlyList<int>> perClient, int maxNewTokens, IReadOnlyList<int> eosIds)
    {
        using var executor = new BatchedExecutor(_weights, _parameters);
        var clock = Stopwatch.StartNew();
        var done = new List<Finished>();
        var active = new List<Active>();
        var next = new int[perClient.Count];
        for (int c = 0; c < perClient.Count; c++)
        {
            Start(c);
        }

        while (active.Count > 0)
        {
            while (executor.BatchQueueCount > 0)
            {
                var status = executor.Infer().GetAwaiter().GetResult();
                if (status != LLama.Native.DecodeResult.Ok)
                {
                    throw new InvalidOperationException($"llama.cpp batched decode failed: {status}.");
                }
            }

            for (int i = active.Count - 1; i >= 0; i--)
            {
                var a = active[i];
                if (!a.Conversation.RequiresSampling)
                {
                    continue;
                }

                int token = LlamaSharpGreedy.ArgMax(a.Conversation.Sample());
                if (a.Ids.Count == 0 && a.FirstToken is null)
                {
                    a.FirstToken = clock.Elapsed - a.Sent;
                }

                bool stop = eosIds.Contains(token);
                if (!stop)
                {
                    a.Ids.Add(token);
                }

                if (stop || a.Ids.Count >= maxNewTokens)
                {
                    a.Conversation.Dispose();
                    active.RemoveAt(i);
                    done.Add(new Finished(a.Request, a.Ids.ToArray(), clock.Elapsed - a.Sent, a.FirstToken ?? clock.Elapsed - a.Sent));
                    Start(a.Client);
                }
                else
                {
                    a.Conversation.Prompt((LLamaToken)token);
                }
            }
        }

        return (done, clock.Elapsed);

        void Start(int client)
        {
            if (next[client] >= perClient[client].Count)
            {
                return;
            }

            int request = perClient[client][next[client]++];
            var conversation = executor.Create();
            var tokens = new LLamaToken[prompts[request].Count];
            for (int i = 0; i < tokens.Length; i++)
            {
                tokens[i] = prompts[request][i];
            }

            conversation.Prompt(tokens);
            active.Add(new Active(client, request, conversation, clock.Elapsed));
        }
    }

    private sealed class Active(int client, int request, Conversation conversation, TimeSpan sent)
    {
        public int Client { get; } = client;

        public int Request { get; } = request;

        public Conversation Conversation { get; } = conversation;

        public TimeSpan Sent { get; } = sent;

        public List<int> Ids { get; } = new();

        public TimeSpan? FirstToken { get; set; }
    }

    public void Dispose() => _weights.Dispose();
}
