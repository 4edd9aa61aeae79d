// Concurrent callers on one engine, the scenario the batching work started from (docs/serving.md, "Against the engine
// before batching"):
//   dotnet run benchmarks/ConcurrentCallersProbe.cs -c Release -- samples/models/sql-cllm samples/data/sql-test.jsonl [rounds]
// One engine built with the builder's defaults and Jacobi n = 16; 16 SQL prompts, up to 64 new tokens each, sent one
// after another and then from 8 concurrent callers (each takes the next prompt when its last one ends). Per round
// (the first is warm-up): total tokens/s of both, and the concurrent requests' p50/p95 latency; medians over the rounds.
// It uses only API that the engine had before batching, so the same file runs in a checkout of that commit
// (git worktree add ../before d933620^) for a comparison measured the same way.
#:project ../src/Cllm.Decoding/Cllm.Decoding.csproj
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm;

string model = args[0];
int rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 6;
const int Requests = 16, Callers = 8, MaxNewTokens = 64;
var prompts = File.ReadLines(args[1]).Take(Requests).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("prompt").GetString()!).ToArray();
if (rounds < 2 || prompts.Length < Requests)
{
    Console.Error.WriteLine($"need at least 2 rounds (the first is warm-up) and {Requests} prompts; got {rounds} and {prompts.Length}.");
    return 1;
}

using var engine = CllmBuilder.FromCheckpoint(model).UseJacobi(16).Build();
var options = new GenerationOptions { MaxNewTokens = MaxNewTokens };

var sequentialRates = new List<double>();
var concurrentRates = new List<double>();
var p50s = new List<double>();
var p95s = new List<double>();
int mismatches = 0;
for (int round = 0; round < rounds; round++)
{
    // One after another.
    var alone = new int[Requests][];
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < Requests; i++)
    {
        alone[i] = engine.Generate(prompts[i], options).OutputIds.ToArray();
    }

    double sequentialSeconds = clock.Elapsed.TotalSeconds;

    // Eight callers, closed loop.
    var together = new int[Requests][];
    var latencies = new ConcurrentBag<double>();
    int next = -1;
    clock.Restart();
    await Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(() =>
    {
        int i;
        while ((i = System.Threading.Interlocked.Increment(ref next)) < Requests)
        {
            var started = Stopwatch.GetTimestamp();
            together[i] = engine.Generate(prompts[i], options).OutputIds.ToArray();
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    })));
    double concurrentSeconds = clock.Elapsed.TotalSeconds;

    int tokens = alone.Sum(o => o.Length);
    mismatches += Enumerable.Range(0, Requests).Count(i => !alone[i].SequenceEqual(together[i]));
    if (round == 0)
    {
        continue;                                                                                      // warm-up
    }

    sequentialRates.Add(tokens / sequentialSeconds);
    concurrentRates.Add(together.Sum(o => o.Length) / concurrentSeconds);
    var sorted = latencies.Order().ToArray();
    p50s.Add(sorted[(int)Math.Ceiling(0.50 * sorted.Length) - 1]);
    p95s.Add(sorted[(int)Math.Ceiling(0.95 * sorted.Length) - 1]);
    Console.WriteLine($"round {round}: one after another {tokens / sequentialSeconds:F0} tok/s, {Callers} callers {together.Sum(o => o.Length) / concurrentSeconds:F0} tok/s, p50 {p50s[^1]:F0} ms, p95 {p95s[^1]:F0} ms");
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

Console.WriteLine($"medians over {rounds - 1} rounds: one after another {Median(sequentialRates):F0} tok/s, {Callers} callers {Median(concurrentRates):F0} tok/s ({Median(concurrentRates) / Median(sequentialRates):F2}x), p50 {Median(p50s):F0} ms, p95 {Median(p95s):F0} ms; outputs differing from one-after-another: {mismatches} of {Requests * rounds}");
return mismatches == 0 ? 0 : 2;
