using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using Cllm.Benchmarking;
using Cllm.Cli;
using Cllm.Tools;

namespace Cllm.Benchmarks;

/// <summary>
/// The peer benchmark: Cllm's decoders (AR, Jacobi, lookahead) against llama.cpp's autoregressive decoding (through
/// LLamaSharp) on the same weights (an F32 GGUF exported from the model folder), in one process, in interleaved rounds,
/// on the same prompt ids, greedy; Cllm's outputs must equal llama.cpp's ids.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        var model = new Option<string>("--model") { Description = "Hugging Face checkpoint folder, or random:15m / random:260k", Required = true };
        var prompts = new Option<string?>("--prompts") { Description = "JSONL prompts (required with a folder)" };
        var requests = new Option<int>("--requests") { Description = "Requests per round", DefaultValueFactory = _ => 10 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds (Cllm and llama.cpp alternate who goes first)", DefaultValueFactory = _ => 3 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens generated per request", DefaultValueFactory = _ => 64 };
        var decoders = new Option<string>("--decoders") { Description = "Cllm decoders, comma-separated", DefaultValueFactory = _ => "ar,jacobi:16,lookahead" };
        var threads = new Option<int>("--threads") { Description = "Threads for libtorch and llama.cpp alike", DefaultValueFactory = _ => 1 };
        var root = new RootCommand("Peer benchmark: Cllm AR / Jacobi / lookahead vs llama.cpp (LLamaSharp) AR on the same weights.")
        {
            model, prompts, requests, rounds, maxNew, decoders, threads,
        };
        root.Subcommands.Add(LoadBenchmark.Command());
        root.SetAction(parse => CliErrors.Run(parse, () => Run(
            parse.GetValue(model)!, parse.GetValue(prompts), parse.GetValue(requests), parse.GetValue(rounds), parse.GetValue(maxNew), parse.GetValue(decoders)!, parse.GetValue(threads))));
        return root.Parse(args).Invoke();
    }

    private static int Run(string modelSpec, string? promptsFile, int requestCount, int roundCount, int maxNewTokens, string decoderList, int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requestCount, 1, "--requests");
        ArgumentOutOfRangeException.ThrowIfLessThan(roundCount, 1, "--rounds");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1, "--max-new-tokens");
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1, "--threads");
        var decoderOptions = decoderList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(d => DecoderOptions.Parse(d)).ToList();
        if (!decoderOptions.Any(d => d.Strategy == DecodingStrategy.Autoregressive))
        {
            decoderOptions.Insert(0, DecoderOptions.Autoregressive);                     // Cllm AR is a reference column
        }

        TorchSharp.torch.set_num_threads(threadCount);
        using var setup = PeerSetup.Create(modelSpec, promptsFile, requestCount, maxNewTokens);
        var config = setup.Model.Config;
        using var peer = new LlamaSharpGreedy(setup.GgufPath, threadCount, config.MaxPositionEmbeddings);
        var reqs = setup.Requests;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{modelSpec}: {config.NumHiddenLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}; {reqs.Count} requests × ≤{maxNewTokens} new tokens, {roundCount} rounds, {threadCount} thread(s) each side, greedy, F32 weights"));

        var peerIds = new int[reqs.Count][];
        var peerSpeed = new List<double>();
        var peerForwards = 0;
        var peerTokens = 0;
        var speeds = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var tokensPerForward = new Dictionary<string, double>(StringComparer.Ordinal);
        var exact = new Dictionary<string, (int Equal, int Total)>(StringComparer.Ordinal);
        for (int round = 0; round < roundCount; round++)
        {
            IReadOnlyList<BenchmarkRow> rows = Array.Empty<BenchmarkRow>();
            IReadOnlyList<BenchmarkOutcome> outcomes = Array.Empty<BenchmarkOutcome>();
            double peerRound = 0;
            void RunCllm() => (rows, outcomes) = DecoderBenchmark.Run(setup.Model, reqs, decoderOptions);
            void RunPeer()
            {
                peer.Decode(reqs[0].PromptIds, (reqs[0].Options.MaxNewTokens ?? GenerationOptions.DefaultMaxNewTokens), (reqs[0].Options.StopTokenIds ?? Array.Empty<int>()));   // warm-up, as DecoderBenchmark does
                int tokens = 0, forwards = 0;
                double seconds = 0;
                for (int r = 0; r < reqs.Count; r++)
                {
                    var (ids, elapsed, f) = peer.Decode(reqs[r].PromptIds, (reqs[r].Options.MaxNewTokens ?? GenerationOptions.DefaultMaxNewTokens), (reqs[r].Options.StopTokenIds ?? Array.Empty<int>()));
                    if (peerIds[r] is { } earlier && !earlier.SequenceEqual(ids))
                    {
                        throw new InvalidOperationException($"llama.cpp gave different ids for request {r} in round {round + 1}.");
                    }

                    peerIds[r] = ids;
                    tokens += ids.Length;
                    forwards += f;
                    seconds += elapsed.TotalSeconds;
                }

                peerRound = tokens / seconds;
                peerTokens = tokens;
                peerForwards = forwards;
            }

            if (round % 2 == 0)
            {
                RunCllm();
                RunPeer();
            }
            else
            {
                RunPeer();
                RunCllm();
            }

            peerSpeed.Add(peerRound);
            foreach (var row in rows)
            {
                if (!speeds.TryGetValue(row.Decoder, out var list))
                {
                    speeds[row.Decoder] = list = new List<double>();
                }

                list.Add(row.TokensPerSecond);
                tokensPerForward[row.Decoder] = row.TokensPerForward;
            }

            foreach (var o in outcomes)
            {
                var (equal, total) = exact.GetValueOrDefault(o.Decoder);
                exact[o.Decoder] = (equal + (o.Result.OutputIds.SequenceEqual(peerIds[o.Request]) ? 1 : 0), total + 1);
            }

            var cllmFigures = string.Join("; ", rows.Select(r => string.Create(CultureInfo.InvariantCulture, $"cllm {r.Decoder} {r.TokensPerSecond:F1}")));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1}/{roundCount} tok/s: llama.cpp AR {peerRound:F1}; {cllmFigures}"));
        }

        string arLabel = decoderOptions.First(d => d.Strategy == DecodingStrategy.Autoregressive).Label;
        var header = string.Format(CultureInfo.InvariantCulture, "{0,-26} {1,10} {2,10} {3,10} {4,12} {5,12} {6,10} {7,10}", "decoder", "tok/s med", "min", "max", "vs llama AR", "vs cllm AR", "tok/fwd", "exact");
        Console.WriteLine();
        Console.WriteLine($"tokens/s include the prefill; ratios are medians of per-round ratios; exact = outputs equal to llama.cpp's ids");
        Console.WriteLine(header);
        Console.WriteLine(new string('-', header.Length));
        double Ratio(IReadOnlyList<double> mine, IReadOnlyList<double> reference) => Median(mine.Zip(reference, (a, b) => a / b).ToList());
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-26} {1,10:F1} {2,10:F1} {3,10:F1} {4,11:F2}x {5,11:F2}x {6,10:F2} {7,10}",
            "llama.cpp AR (LLamaSharp)", Median(peerSpeed), peerSpeed.Min(), peerSpeed.Max(), 1.0, Ratio(peerSpeed, speeds[arLabel]), (double)peerTokens / peerForwards, "-"));
        foreach (var (label, list) in speeds)
        {
            var (equal, total) = exact[label];
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-26} {1,10:F1} {2,10:F1} {3,10:F1} {4,11:F2}x {5,11:F2}x {6,10:F2} {7,10}",
                "cllm " + label, Median(list), list.Min(), list.Max(), Ratio(list, peerSpeed), Ratio(list, speeds[arLabel]), tokensPerForward[label], $"{equal}/{total}"));
        }

        bool allExact = exact.Values.All(e => e.Equal == e.Total);
        Console.WriteLine(allExact ? "exact: every Cllm output equals llama.cpp's greedy ids." : "NOT EXACT: some Cllm outputs differ from llama.cpp's greedy ids.");
        return allExact ? 0 : 2;
    }

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
