// Chunked prefill's effect on a running request (docs/serving.md, "Long prompts: chunked prefill"):
//   dotnet run benchmarks/ChunkedPrefillProbe.cs -c Release -- samples/models/sql-cllm samples/data/sql-test.jsonl 190
// One AR request decodes 60 tokens; after its 10th a request with a long prompt (the first <tokens> tokens of the prompt
// file joined) arrives. Per engine (chunks of 64, and chunking off), interleaved over 32 rounds (the first 2 not counted):
// the decoding request's largest inter-token gap after the join, and the joiner's time to first token (medians).
#:project ../src/Cllm.Decoding/Cllm.Decoding.csproj
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm;

string model = args[0];
int tokens = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
var prompts = File.ReadLines(args[1]).Take(40).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("prompt").GetString()!).ToArray();
using var chunked = CllmBuilder.FromCheckpoint(model).WithPrefillChunk(64).Build();
using var whole = CllmBuilder.FromCheckpoint(model).WithPrefillChunk(int.MaxValue).Build();
var ids = chunked.Tokenizer.Encode(string.Join(" ", prompts));
var longRequest = chunked.CreateRequest(ids.Take(tokens).ToArray(), new GenerationOptions { MaxNewTokens = 4, StopAtEos = false, Decoder = DecoderOptions.Autoregressive });
var shortRequest = chunked.CreateRequest(prompts[0], new GenerationOptions { MaxNewTokens = 60, StopAtEos = false, Decoder = DecoderOptions.Autoregressive });
var engines = new[] { ("chunks of 64", chunked), ("whole prefill", whole) };
var gaps = engines.ToDictionary(e => e.Item1, _ => new List<double>());
var firstToken = engines.ToDictionary(e => e.Item1, _ => new List<double>());
for (int round = 0; round < 32; round++)
{
    foreach (var (name, engine) in engines)
    {
        Task<double>? joiner = null;
        double maxGap = 0;
        long last = 0;
        int n = 0;
        foreach (var _ in engine.Run(shortRequest))
        {
            long now = Stopwatch.GetTimestamp();
            if (++n > 11 && joiner is not null)
            {
                maxGap = Math.Max(maxGap, Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
            }

            last = now;
            if (n == 10)
            {
                joiner = Task.Run(() =>
                {
                    long start = Stopwatch.GetTimestamp();
                    using var steps = engine.Run(longRequest).GetEnumerator();
                    steps.MoveNext();
                    double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    while (steps.MoveNext())
                    {
                    }

                    return ms;
                });
            }
        }

        double t = joiner!.GetAwaiter().GetResult();
        if (round >= 2)
        {
            gaps[name].Add(maxGap);
            firstToken[name].Add(t);
        }
    }
}

Console.WriteLine($"joiner's prompt: {longRequest.PromptIds.Count} tokens");
foreach (var (name, _) in engines)
{
    Console.WriteLine(FormattableString.Invariant($"{name}: largest inter-token gap of the decoding request after the join, median {Median(gaps[name]):F1} ms; joiner's time to first token, median {Median(firstToken[name]):F1} ms"));
}

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
