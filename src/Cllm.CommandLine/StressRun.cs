using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.AI;

namespace Cllm.CommandLine;

/// <summary>
/// A bounded concurrency check of one engine, for users to run on their own model: several threads decode with the
/// engine's decoders and many <see cref="IChatClient"/> requests run at once, all batched on the engine's decode thread
/// (docs/serving.md), while a
/// thread allocates managed garbage so the GC and its finalizer thread run all the time. Greedy decoding is
/// deterministic, so every output must equal the one decoded alone, without any exception.
/// </summary>
internal sealed class StressRun
{
    public required CllmEngine Engine { get; init; }

    public required IReadOnlyList<string> Prompts { get; init; }

    public required IReadOnlyList<DecoderOptions> Decoders { get; init; }

    public int Workers { get; init; } = 3;

    public int ChatRequests { get; init; } = 24;

    public int MaxNewTokens { get; init; } = 32;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    public sealed record Outcome(int Decodes, int ChatResponses, int GarbageCollections, IReadOnlyList<string> Failures);

    public Outcome Run(CancellationToken cancellationToken = default)
    {
        // Reference outputs, decoded one at a time with nothing else running.
        var requests = Prompts.Select(p => Engine.CreateRequest(p, new GenerationOptions { MaxNewTokens = MaxNewTokens })).ToArray();
        var expected = Decoders.Select(d =>
        {
            var decoder = Engine.CreateDecoder(d);
            return requests.Select(r => decoder.DecodeToEnd(r, cancellationToken).OutputIds.ToArray()).ToArray();
        }).ToArray();
        var client = Engine.AsChatClient();
        var options = new ChatOptions { MaxOutputTokens = MaxNewTokens, StopSequences = new List<string>() };
        var expectedText = Prompts.Select(p => client.GetResponseAsync(Messages(p), options, cancellationToken).GetAwaiter().GetResult().Text).ToArray();

        var failures = new ConcurrentQueue<string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int gcsBefore = GC.CollectionCount(0);
        var churn = new Thread(() => Churn(stop.Token)) { IsBackground = true, Name = "cllm-stress-garbage" };
        churn.Start();
        int decodes = 0, chats = 0;
        try
        {
            var clock = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, Workers).Select(w => new Thread(() =>
            {
                var mine = Decoders.Select(Engine.CreateDecoder).ToArray();
                for (int i = w; clock.Elapsed < Duration && !stop.IsCancellationRequested; i++)
                {
                    int d = i % mine.Length, p = i / mine.Length % requests.Length;
                    try
                    {
                        var got = mine[d].DecodeToEnd(requests[p], stop.Token).OutputIds;
                        if (!got.SequenceEqual(expected[d][p]))
                        {
                            failures.Enqueue($"{Decoders[d].Label}, prompt {p + 1}: output differs from the sequential one");
                        }
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (Exception ex)
                    {
                        failures.Enqueue($"{Decoders[d].Label}, prompt {p + 1}: {ex.GetType().Name}: {ex.Message}");
                    }

                    Interlocked.Increment(ref decodes);
                }
            }) { Name = $"cllm-stress-{w}" }).ToList();
            workers.ForEach(t => t.Start());

            // Meanwhile, concurrent chat requests on the engine's own decode queue.
            var tasks = Enumerable.Range(0, ChatRequests).Select(i => Task.Run(async () =>
            {
                int p = i % Prompts.Count;
                try
                {
                    var response = await client.GetResponseAsync(Messages(Prompts[p]), options, stop.Token).ConfigureAwait(false);
                    if (response.Text != expectedText[p])
                    {
                        failures.Enqueue($"chat request {i + 1}: text differs from the sequential one");
                    }

                    Interlocked.Increment(ref chats);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested)
                {
                    failures.Enqueue($"chat request {i + 1}: {ex.GetType().Name}: {ex.Message}");
                }
            })).ToArray();
            Task.WaitAll(tasks, CancellationToken.None);
            workers.ForEach(t => t.Join());
        }
        finally
        {
            stop.Cancel();
            churn.Join();
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new Outcome(decodes, chats, GC.CollectionCount(0) - gcsBefore, failures.ToArray());
    }

    private static ChatMessage[] Messages(string prompt) => new[] { new ChatMessage(ChatRole.User, prompt) };

    private static void Churn(CancellationToken stop)
    {
        long allocated = 0;
        while (!stop.IsCancellationRequested)
        {
            var garbage = new byte[1024];
            garbage[0] = 1;
            if (++allocated % 1024 == 0)
            {
                Thread.Yield();
            }
        }
    }
}
