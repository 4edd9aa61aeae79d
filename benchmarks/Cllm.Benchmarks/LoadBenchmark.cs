using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Cllm.CommandLine;
using Cllm.Core;
using TorchSharp;

namespace Cllm.Benchmarks;

/// <summary>
/// The load benchmark: N closed-loop clients (each sends its next request as soon as the previous one ends) against
/// one engine, for N = 1, 2, 4, …: total tokens/s, request latency and time to first token (p50/p95), for the engine
/// serving one request at a time (max batch 1), batched AR and batched Jacobi (continuous batching), and llama.cpp's
/// <c>BatchedExecutor</c> AR on the same weights. Every batched output is checked against the same prompt's output
/// served alone.
/// </summary>
internal static class LoadBenchmark
{
    public static Command Command()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face checkpoint folder", Required = true };
        var prompts = new Option<string>("--prompts") { Description = "JSONL prompts", Required = true };
        var clients = new Option<string>("--clients") { Description = "Client counts, comma-separated", DefaultValueFactory = _ => "1,2,4,8,16" };
        var perClient = new Option<int>("--requests-per-client") { Description = "Requests each client sends, one after another", DefaultValueFactory = _ => 2 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens generated per request", DefaultValueFactory = _ => 64 };
        var decoder = new Option<string>("--decoder") { Description = "The drafting decoder (serial and batched)", DefaultValueFactory = _ => "jacobi:16" };
        var threads = new Option<int>("--threads") { Description = "Threads of the batched servers (libtorch and llama.cpp alike)", DefaultValueFactory = _ => 2 };
        var serialThreads = new Option<int>("--serial-threads") { Description = "Threads of the one-at-a-time engine (1: the engine's default below 100M parameters)", DefaultValueFactory = _ => 1 };
        var dtype = new Option<string>("--dtype") { Description = "Cllm weights: float32 or bfloat16 (llama.cpp gets an F32 or F16 GGUF)", DefaultValueFactory = _ => "float32" };
        var quantize = new Option<string>("--quantize") { Description = "Cllm projections: none, int8, int4, int4a8 or bf16", DefaultValueFactory = _ => "none" };
        var peer = new Option<bool>("--peer") { Description = "Also run llama.cpp's BatchedExecutor AR (LLamaSharp)" };
        var ggufType = new Option<string?>("--gguf-type") { Description = "llama.cpp's weights with --peer: f32, f16, q8_0 or q4_0 (default: f32 for float32, f16 for bfloat16)" };
        var ggufDir = new Option<string?>("--gguf-dir") { Description = "Keep the GGUF here and reuse it when present (default: a temporary folder)" };
        var sharing = new Option<string>("--prefix-sharing") { Description = "Batched servers reuse a prompt prefix cached for another request: on, off, or both (each batched server twice)", DefaultValueFactory = _ => "on" };
        var rounds = new Option<int>("--rounds") { Description = "Runs of every Cllm server per client count, interleaved (batched AR and the drafting decoder swap order each round); tok/s is the median round; latencies, reused, fwd and pos/tok count all rounds", DefaultValueFactory = _ => 1 };
        var command = new Command("load", "Closed-loop load: serial engine vs batched AR vs batched Jacobi (vs llama.cpp BatchedExecutor AR).")
        {
            model, prompts, clients, perClient, maxNew, decoder, threads, serialThreads, dtype, quantize, peer, ggufType, ggufDir, sharing, rounds,
        };
        command.SetAction(parse => CliErrors.Run(parse, () => Run(parse.GetValue(model)!, parse.GetValue(prompts)!, parse.GetValue(clients)!, parse.GetValue(perClient),
            parse.GetValue(maxNew), parse.GetValue(decoder)!, parse.GetValue(threads), parse.GetValue(serialThreads), parse.GetValue(dtype)!, parse.GetValue(quantize)!,
            parse.GetValue(peer), parse.GetValue(ggufType), parse.GetValue(ggufDir), parse.GetValue(sharing)!, parse.GetValue(rounds))));
        return command;
    }

    /// <summary>One request's outcome: its prompt index, ids, latency, time to first token, and its prompt tokens (all, and those reused from another request's cached prefix).</summary>
    private sealed record Outcome(int Prompt, int[] Ids, TimeSpan Latency, TimeSpan FirstToken, int PromptTokens, int ReusedTokens);

    /// <summary>What one run's model forwards did, from the Cllm meter: forwards, and token positions computed.</summary>
    private sealed record Work(long Forwards, long Positions);

    /// <summary>Sums the Cllm meter's per-forward measurements ("cllm.batch.*") from any thread; <see cref="Take"/> reads and restarts them.</summary>
    private sealed class WorkMeter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _forwards, _positions;

        public WorkMeter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Cllm" && instrument.Name.StartsWith("cllm.batch.", StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<int>((_, _, _, _) => Interlocked.Increment(ref _forwards));          // cllm.batch.requests: one per forward
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _positions, value)); // cllm.batch.positions
            _listener.Start();
        }

        public Work Take() => new(Interlocked.Exchange(ref _forwards, 0), Interlocked.Exchange(ref _positions, 0));

        public void Dispose() => _listener.Dispose();
    }

    private static int Run(string modelDir, string promptsFile, string clientList, int perClient, int maxNewTokens, string decoderSpec, int threads, int serialThreads,
        string dtypeName, string quantizeName, bool peer, string? ggufTypeName, string? ggufDir, string sharingName, int rounds)
    {
        var counts = clientList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(c => int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 ? n : throw new FormatException($"--clients: '{c}' is not a positive whole number.")).ToArray();
        ArgumentOutOfRangeException.ThrowIfLessThan(perClient, 1, "--requests-per-client");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1, "--max-new-tokens");
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1, "--threads");
        ArgumentOutOfRangeException.ThrowIfLessThan(serialThreads, 1, "--serial-threads");
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1, "--rounds");
        var dtype = PeerFormats.ParseDType(dtypeName);
        var quantization = PeerFormats.ParseQuantizations(quantizeName) is [var q] ? q : throw new ArgumentException("--quantize: give one of none, int8, int4, int4a8, bf16.");
        var ggufType = ggufTypeName is null ? (dtype == torch.ScalarType.Float32 ? LlamaWeightType.F32 : LlamaWeightType.F16)
            : PeerFormats.ParseGgufTypes(ggufTypeName) is [var g] ? g : throw new ArgumentException("--gguf-type: give one of f32, f16, q8_0, q4_0.");
        var drafting = DecoderOptions.Parse(decoderSpec);
        bool[] shareModes = sharingName switch
        {
            "on" => new[] { true },
            "off" => new[] { false },
            "both" => new[] { false, true },
            _ => throw new ArgumentException($"--prefix-sharing: '{sharingName}' is not one of on, off, both."),
        };
        var texts = PromptFile.Read(promptsFile);
        int maxClients = counts.Max();

        // libtorch's thread count is process-wide: each run sets its own (Serial, Batched) before it starts. An int4a8
        // or packed bf16 model's kernel has workers of its own, fixed when it loads, and libtorch stays on one thread beside them.
        bool ownWorkers = quantization is WeightQuantization.Int4A8 or WeightQuantization.BFloat16;
        CllmEngine Engine(int batch, int engineThreads, bool share) => CllmBuilder.FromCheckpoint(modelDir).WithDType(dtype).WithQuantization(quantization)
            .WithThreads(engineThreads).UseDecoder(drafting).WithMaxBatchSize(batch).WithPrefixSharing(share).Build();
        using var serial = Engine(1, serialThreads, false);
        using var unshared = shareModes.Contains(false) ? Engine(maxClients, threads, false) : null;
        using var shared = shareModes.Contains(true) ? Engine(maxClients, threads, true) : null;
        var engines = new[] { (Share: false, Engine: unshared), (Share: true, Engine: shared) }
            .Where(e => e.Engine is not null).Select(e => (e.Share, Engine: e.Engine!)).ToArray();
        var batched = engines[0].Engine;
        var options = new GenerationOptions { MaxNewTokens = maxNewTokens };
        var requests = texts.Select(t => batched.CreateRequest(t, options)).ToArray();
        using var meter = new WorkMeter();
        (List<Outcome>, TimeSpan, Work) Measure(CllmEngine engine, int threadCount, IReadOnlyList<IReadOnlyList<int>> plan, DecoderOptions? decoder)
        {
            torch.set_num_threads(ownWorkers ? 1 : threadCount);
            meter.Take();
            var (outcomes, wall) = Clients(engine, requests, plan, decoder);
            return (outcomes, wall, meter.Take());
        }

        (List<Outcome>, TimeSpan, Work) Serial(IReadOnlyList<IReadOnlyList<int>> plan) => Measure(serial, serialThreads, plan, null);
        (List<Outcome>, TimeSpan, Work) Batched(CllmEngine engine, IReadOnlyList<IReadOnlyList<int>> plan, DecoderOptions? decoder) => Measure(engine, threads, plan, decoder);

        var config = batched.Model.Config;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{modelDir}: {batched.Model.ParameterCount / 1e6:0.#}M parameters, {PeerFormats.Label(dtype, quantization)}; threads: serial {serialThreads}, batched {threads}; closed-loop clients {string.Join(",", counts)} × {perClient} requests × ≤{maxNewTokens} new tokens, greedy; drafting decoder {drafting.Label}; prefix sharing {sharingName}; {rounds} round(s)"));

        // Warm-up: a request on each side, and two at once on the batched engine (which starts measuring its forward-cost curve; it finishes while the engine idles).
        var two = new[] { new[] { 0 }, new[] { 1 % requests.Length } };
        Serial(two);
        foreach (var (_, engine) in engines)
        {
            Batched(engine, two, DecoderOptions.Autoregressive);
            for (int attempt = 0; attempt < 5 && !engine.CostCurveReady; attempt++)
            {
                Batched(engine, two, null);                                                // two requests together start the measurement
                while (engine.MeasuringCost)
                {
                    Thread.Sleep(20);                                                      // which ends while the engine idles
                }
            }

            if (!engine.CostCurveReady)
            {
                throw new InvalidOperationException("the batched engine did not measure its forward-cost curve during the warm-up.");
            }
        }

        LlamaSharpBatched? llama = null;
        string? scratch = null;
        if (peer)
        {
            if (ggufDir is null)
            {
                scratch = Directory.CreateTempSubdirectory("cllm-load-").FullName;
            }
            else
            {
                Directory.CreateDirectory(ggufDir);
            }

            var (_, gguf) = PeerGguf.Make(modelDir, placeholderVocabulary: false, new[] { ggufType }, ggufDir ?? scratch!, threads, reuse: ggufDir is not null)[0];
            llama = new LlamaSharpBatched(gguf, threads, maxClients, config.MaxPositionEmbeddings);
        }

        try
        {
            var alone = new Dictionary<int, int[]>();
            var header = string.Format(CultureInfo.InvariantCulture, "{0,3} {1,-42} {2,9} {3,10} {4,9} {5,9} {6,9} {7,9} {8,7} {9,7} {10,8} {11,8}",
                "N", "server", "tok/s", "vs serial", "lat p50", "lat p95", "ttft p50", "ttft p95", "reused", "fwd", "pos/tok", "exact");
            Console.WriteLine();
            Console.WriteLine("tok/s = all generated tokens / wall time; latency and time to first token in ms from the moment a request is sent; reused = prompt tokens taken from another request's cached prefix; fwd = model forwards; pos/tok = token positions the forwards computed (uncached prompt tokens, pending tokens, drafts) per generated token; exact = equal to the same prompt served alone");
            Console.WriteLine(header);
            Console.WriteLine(new string('-', header.Length));
            bool allExact = true;
            foreach (int n in counts)
            {
                var plan = Enumerable.Range(0, n).Select(c => Enumerable.Range(0, perClient).Select(r => (c * perClient + r) % requests.Length).ToArray()).ToArray();
                // Each server's runs at this N, in the order they are first added; a server's rounds are pooled below.
                var rows = new List<(string Name, List<(List<Outcome> Outcomes, TimeSpan Wall, Work? Work)> Runs, bool Checked)>();
                void Add(string name, List<Outcome> outcomes, TimeSpan wall, Work? work, bool check)
                {
                    int at = rows.FindIndex(r => r.Name == name);
                    if (at < 0)
                    {
                        rows.Add((name, new(), check));
                        at = rows.Count - 1;
                    }

                    rows[at].Runs.Add((outcomes, wall, work));
                }

                var pairs = new List<(string Label, double Ratio)>();
                for (int round = 0; round < rounds; round++)
                {
                    var (serialOut, serialWall, serialWork) = Serial(plan);
                    foreach (var o in serialOut)
                    {
                        alone.TryAdd(o.Prompt, o.Ids);
                    }

                    Add($"cllm serial {drafting.Label}", serialOut, serialWall, serialWork, false);
                    foreach (var (share, engine) in engines)
                    {
                        // Batched AR and the drafting decoder swap order each round, so a drift in the machine's speed
                        // favours neither.
                        string suffix = shareModes.Length > 1 ? (share ? ", shared prefixes" : ", no sharing") : "";
                        var servers = new[] { ($"cllm batched ar{suffix}", DecoderOptions.Autoregressive), ($"cllm batched {drafting.Label}{suffix}", (DecoderOptions?)null) };
                        var rates = new double[2];
                        foreach (int k in round % 2 == 0 ? new[] { 0, 1 } : new[] { 1, 0 })
                        {
                            var (runOut, runWall, runWork) = Batched(engine, plan, servers[k].Item2);
                            Add(servers[k].Item1, runOut, runWall, runWork, true);
                            rates[k] = Rate(runOut, runWall);
                        }

                        pairs.Add((servers[1].Item1 + " / " + servers[0].Item1, rates[1] / rates[0]));
                    }
                }

                if (llama is not null)
                {
                    var ids = requests.Select(r => r.PromptIds).ToArray();
                    var (done, wall) = llama.Run(ids, plan, maxNewTokens, requests[0].Options.StopTokenIds ?? Array.Empty<int>());
                    bool comparable = dtype == torch.ScalarType.Float32 && quantization == WeightQuantization.None && ggufType == LlamaWeightType.F32;
                    Add($"llama.cpp BatchedExecutor ar {PeerFormats.Label(ggufType)}", done.Select(d => new Outcome(d.Request, d.Ids, d.Latency, d.FirstToken, requests[d.Request].PromptIds.Count, 0)).ToList(), wall, null, comparable);
                }

                double serialRate = Median(rows[0].Runs.Select(r => Rate(r.Outcomes, r.Wall)));
                foreach (var (name, runs, check) in rows)
                {
                    var outcomes = runs.SelectMany(r => r.Outcomes).ToList();
                    var works = runs.Select(r => r.Work).ToList();
                    Work? work = works.Contains(null) ? null : new Work(works.Sum(w => w!.Forwards), works.Sum(w => w!.Positions));
                    double rate = Median(runs.Select(r => Rate(r.Outcomes, r.Wall)));
                    int equal = outcomes.Count(o => alone.TryGetValue(o.Prompt, out var ids) && ids.SequenceEqual(o.Ids));
                    allExact &= !check || equal == outcomes.Count;
                    Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,3} {1,-42} {2,9:F1} {3,9:F2}x {4,9:F0} {5,9:F0} {6,9:F0} {7,9:F0} {8,6:F0}% {9,7} {10,8} {11,8}",
                        n, name, rate, rate / serialRate,
                        Percentile(outcomes.Select(o => o.Latency.TotalMilliseconds), 0.5), Percentile(outcomes.Select(o => o.Latency.TotalMilliseconds), 0.95),
                        Percentile(outcomes.Select(o => o.FirstToken.TotalMilliseconds), 0.5), Percentile(outcomes.Select(o => o.FirstToken.TotalMilliseconds), 0.95),
                        100.0 * outcomes.Sum(o => o.ReusedTokens) / Math.Max(1, outcomes.Sum(o => o.PromptTokens)),
                        work is null ? "-" : work.Forwards.ToString(CultureInfo.InvariantCulture),
                        work is null ? "-" : (work.Positions / (double)Math.Max(1, outcomes.Sum(o => o.Ids.Length))).ToString("F2", CultureInfo.InvariantCulture),
                        check ? $"{equal}/{outcomes.Count}" : "-"));
                }

                if (rounds > 1)
                {
                    foreach (var group in pairs.GroupBy(p => p.Label))
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"    {group.Key}, per round: {string.Join(" ", group.Select(p => p.Ratio.ToString("F2", CultureInfo.InvariantCulture)))} (median {Median(group.Select(p => p.Ratio)):F2})"));
                    }
                }
            }

            Console.WriteLine(allExact ? "exact: every batched Cllm output equals the same prompt served alone." : "NOT EXACT: some batched outputs differ from the same prompt served alone.");
            return allExact ? 0 : 2;
        }
        finally
        {
            llama?.Dispose();
            if (scratch is not null)
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    /// <summary>Closed-loop clients on threads: client c sends plan[c]'s prompts one after another through <paramref name="engine"/>.</summary>
    private static (List<Outcome> Outcomes, TimeSpan Wall) Clients(CllmEngine engine, IReadOnlyList<DecodeRequest> requests, IReadOnlyList<IReadOnlyList<int>> plan, DecoderOptions? decoder)
    {
        var outcomes = new List<Outcome>();
        var clock = Stopwatch.StartNew();
        var threads = plan.Select(prompts => new Thread(() =>
        {
            foreach (int p in prompts)
            {
                var sent = clock.Elapsed;
                TimeSpan? first = null;
                var ids = new List<int>();
                int reused = 0;
                foreach (var step in engine.Run(requests[p], decoder))
                {
                    if (first is null && step.Tokens.Count > 0)
                    {
                        first = clock.Elapsed - sent;
                    }

                    ids.AddRange(step.Tokens);
                    reused = step.Stats?.CachedPromptTokens ?? reused;
                }

                var latency = clock.Elapsed - sent;
                lock (outcomes)
                {
                    outcomes.Add(new Outcome(p, ids.ToArray(), latency, first ?? latency, requests[p].PromptIds.Count, reused));
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return (outcomes, clock.Elapsed);
    }

    private static double Rate(IReadOnlyCollection<Outcome> outcomes, TimeSpan wall) => outcomes.Sum(o => o.Ids.Length) / wall.TotalSeconds;

    private static double Median(IEnumerable<double> values) => Percentile(values, 0.5);

    private static double Percentile(IEnumerable<double> values, double q)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        double rank = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}
