// What one shared KV cache costs a batched forward (docs/serving.md, "What limits batching on a small model"):
//   dotnet run benchmarks/PackedAttentionProbe.cs -c Release -- samples/models/sql-cllm 150 1
// A batch of N requests, each with <cached> tokens in the cache, runs as one packed sequence over one shared cache: each
// new token attends, masked, over all N·cached slots. Per N and tokens per request (1 = batched AR, 17 = jacobi:16), the
// forward is timed as the batch runs it (N·T tokens over N·cached slots, masked) and as it would run if each token
// attended over its own request's slots only (N·T tokens over cached slots), interleaved, median of 60 (10 warm-up).
#:project ../src/Cllm.Decoding/Cllm.Decoding.csproj
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Cllm;
using TorchSharp;
using static TorchSharp.torch;

string modelDir = args[0];
int cached = int.Parse(args[1], CultureInfo.InvariantCulture);
int threads = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
using var engine = CllmBuilder.FromCheckpoint(modelDir).WithThreads(threads).Build();
var model = engine.Model;
using var noGrad = no_grad();

// One forward of `tokens` new tokens after `past` cached slots, every slot visible (the mask's cost is paid either way).
double Forward(int past, int tokens, int reps, List<double> samples)
{
    using var cache = model.CreateCache(past + tokens);
    using (var scope = NewDisposeScope())
    {
        // Positions and mask given, so that the cache may hold more slots than the model has positions.
        var prefillPositions = tensor(new long[past], dtype: ScalarType.Int64);
        model.Forward(zeros(new long[] { 1, past }, dtype: ScalarType.Int64), cache, prefillPositions, ones(new long[] { past, past }, dtype: ScalarType.Bool));
    }

    var positions = Enumerable.Range(0, tokens).Select(i => (long)(cached + (i % 17))).ToArray();
    for (int r = 0; r < reps; r++)
    {
        using var scope = NewDisposeScope();
        var ids = ones(new long[] { 1, tokens }, dtype: ScalarType.Int64);
        var mask = ones(new long[] { tokens, past + tokens }, dtype: ScalarType.Bool);
        long start = Stopwatch.GetTimestamp();
        model.Forward(ids, cache, tensor(positions, dtype: ScalarType.Int64), mask, lastPositions: tokens);
        samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        cache.TruncateTo(past);
    }

    return samples.Count;
}

static double Median(List<double> xs)
{
    var s = xs.Skip(10).OrderBy(x => x).ToArray();
    return s[s.Length / 2];
}

Console.WriteLine($"{modelDir}: {model.ParameterCount / 1e6:0.#}M parameters, {threads} thread(s); {cached} cached tokens per request");
Console.WriteLine("  N  tokens/req  shared cache ms  own slots ms  shared/own");
foreach (int perRequest in new[] { 1, 17 })
{
    foreach (int n in new[] { 1, 2, 4, 8, 16 })
    {
        var shared = new List<double>();
        var own = new List<double>();
        for (int round = 0; round < 7; round++)
        {
            Forward(n * cached, n * perRequest, 10, shared);
            Forward(cached, n * perRequest, 10, own);
        }

        double a = Median(shared), b = Median(own);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n,3}  {perRequest,10}  {a,15:F2}  {b,12:F2}  {a / b,9:F2}x"));
    }
}
