using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Reliability;

/// <summary>
/// Decoding on several threads while another thread churns managed garbage (so the GC and its finalizer thread run
/// all the time): no native error, and every output equals the one decoded alone.
/// </summary>
public class ThreadSafetyTests
{
    private static readonly int[][] Prompts = { new[] { 1, 7, 9 }, new[] { 1, 40, 3, 22 }, new[] { 1, 5 }, new[] { 1, 60, 61, 62, 63 } };

    [Fact]
    public void ParallelDecodesUnderGcPressureMatchTheSequentialOutputs()
    {
        using var model = TinyLlama.Create(31, TinyLlama.Config(layers: 2, context: 512));
        var decoders = new Func<LlamaForCausalLM, IDecoder>[]
        {
            m => Decoders.Autoregressive(m),
            m => Decoders.Jacobi(m, 8),
            m => Decoders.Lookahead(m, window: 3, ngram: 3, guesses: 3),
        };

        // Sequential reference, no pressure.
        var expected = new int[decoders.Length][][];
        for (int d = 0; d < decoders.Length; d++)
        {
            expected[d] = Prompts.Select(p => decoders[d](model).DecodeToEnd(Request(p)).OutputIds.ToArray()).ToArray();
        }

        using var stop = new CancellationTokenSource();
        long garbage = 0;
        var churn = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var bytes = new byte[1024];
                bytes[0] = 1;
                if (Interlocked.Increment(ref garbage) % 1024 == 0)
                {
                    Thread.Yield();
                }
            }
        }) { IsBackground = true };
        int gcsBefore = GC.CollectionCount(0);
        churn.Start();

        var errors = new ConcurrentQueue<string>();
        int decodes = 0;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, 3).Select(w => new Thread(() =>
        {
            var mine = decoders.Select(f => f(model)).ToArray();
            int i = w;
            while (clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                int d = i % mine.Length, p = (i / mine.Length) % Prompts.Length;
                i++;
                try
                {
                    var got = mine[d].DecodeToEnd(Request(Prompts[p])).OutputIds.ToArray();
                    if (!got.SequenceEqual(expected[d][p]))
                    {
                        errors.Enqueue($"decoder {d} prompt {p}: [{string.Join(",", got)}] != [{string.Join(",", expected[d][p])}]");
                    }
                }
                catch (Exception e)
                {
                    errors.Enqueue($"decoder {d} prompt {p}: {e.GetType().Name}: {e.Message}");
                }

                Interlocked.Increment(ref decodes);
            }
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        stop.Cancel();
        churn.Join();
        int gcs = GC.CollectionCount(0) - gcsBefore;

        Assert.True(errors.IsEmpty, $"{errors.Count} failures in {decodes} decodes, e.g. {string.Join(" | ", errors.Take(3))}");
        Assert.True(decodes >= 9, $"only {decodes} decodes ran");
        Assert.True(gcs >= 100, $"only {gcs} garbage collections ran ({garbage} arrays allocated)");
    }

    private static DecodeRequest Request(int[] prompt) => new() { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = 48 } };
}
