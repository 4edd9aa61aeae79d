using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using Cllm.Benchmarking;
using Cllm.CommandLine;
using Cllm.Core;
using TorchSharp;
using static Cllm.ForwardCostMeasurement;

namespace Cllm.Benchmarks;

/// <summary>
/// The peer benchmark: Cllm's decoders (AR, Jacobi, lookahead) against llama.cpp's autoregressive decoding (through
/// LLamaSharp) on the same weights (GGUF files made from the model folder), in one process, in interleaved rounds, on
/// the same prompt ids, greedy. On float32 weights both sides compute the same numbers and Cllm's outputs must equal
/// llama.cpp's ids; in other formats (bfloat16, int8/int4, quantized GGUF) each Cllm decoder must equal its own AR.
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
        var dtype = new Option<string>("--dtype") { Description = "Cllm's weight, KV-cache and compute dtype: float32 | bfloat16", DefaultValueFactory = _ => "float32" };
        var quantize = new Option<string>("--quantize") { Description = "Cllm's weight quantization, comma-separated for one model each: none | int8 | int4 | int4a8 | bf16 (docs/quantization.md)", DefaultValueFactory = _ => "none" };
        var ggufType = new Option<string>("--gguf-type") { Description = "llama.cpp's GGUF types, comma-separated for one file each: f32 | f16 | q8_0 | q4_0 (q8_0/q4_0 by llama.cpp's quantizer from the F32 export); the first is the 'vs llama' reference", DefaultValueFactory = _ => "f32" };
        var ggufDir = new Option<string?>("--gguf-dir") { Description = "Keep the GGUF files in this folder and reuse those already there (one folder per model: delete it when the weights change); default: a temporary folder" };
        var root = new RootCommand("Peer benchmark: Cllm AR / Jacobi / lookahead vs llama.cpp (LLamaSharp) AR on the same weights.")
        {
            model, prompts, requests, rounds, maxNew, decoders, threads, dtype, quantize, ggufType, ggufDir,
        };
        root.Subcommands.Add(LoadBenchmark.Command());
        root.SetAction(parse => CliErrors.Run(parse, () => Run(
            parse.GetValue(model)!, parse.GetValue(prompts), parse.GetValue(requests), parse.GetValue(rounds), parse.GetValue(maxNew), parse.GetValue(decoders)!, parse.GetValue(threads),
            parse.GetValue(dtype)!, parse.GetValue(quantize)!, parse.GetValue(ggufType)!, parse.GetValue(ggufDir))));
        return root.Parse(args).Invoke();
    }

    private static int Run(string modelSpec, string? promptsFile, int requestCount, int roundCount, int maxNewTokens, string decoderList, int threadCount, string dtypeText, string quantizeText, string ggufText, string? ggufDirectory)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requestCount, 1, "--requests");
        ArgumentOutOfRangeException.ThrowIfLessThan(roundCount, 1, "--rounds");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1, "--max-new-tokens");
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1, "--threads");
        var dtype = PeerFormats.ParseDType(dtypeText);
        var quantizations = PeerFormats.ParseQuantizations(quantizeText);
        var ggufTypes = PeerFormats.ParseGgufTypes(ggufText);
        var decoderOptions = decoderList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(d => DecoderOptions.Parse(d)).ToList();
        if (!decoderOptions.Any(d => d is AutoregressiveOptions))
        {
            decoderOptions.Insert(0, DecoderOptions.Autoregressive);                     // Cllm AR is a reference column
        }

        string arLabel = decoderOptions.First(d => d is AutoregressiveOptions).Label;
        torch.set_num_threads(threadCount);
        using var setup = PeerSetup.Create(modelSpec, promptsFile, requestCount, maxNewTokens, dtype, quantizations, ggufTypes, threadCount, ggufDirectory);
        var config = setup.Config;
        var llamas = new List<LlamaSide>();
        try
        {
            foreach (var (type, path) in setup.Ggufs)
            {
                llamas.Add(new LlamaSide(type, new LlamaSharpGreedy(path, threadCount, config.MaxPositionEmbeddings), setup.Requests.Count));
            }

            return Measure(modelSpec, setup, llamas, decoderOptions, arLabel, roundCount, maxNewTokens, threadCount);
        }
        finally
        {
            llamas.ForEach(l => l.Dispose());
        }
    }

    private static int Measure(string modelSpec, PeerSetup setup, List<LlamaSide> llamas, List<DecoderOptions> decoderOptions, string arLabel, int roundCount, int maxNewTokens, int threadCount)
    {
        var config = setup.Config;
        var reqs = setup.Requests;

        // llama.cpp's ids are the reference only where both sides hold the same numbers: Cllm float32 unquantized against the F32 GGUF.
        var sameWeights = llamas.FirstOrDefault(l => l.Type == LlamaWeightType.F32);
        string? exactModel = setup.Models.Select(m => m.Label).FirstOrDefault(l => l == PeerFormats.Label(torch.ScalarType.Float32, WeightQuantization.None));
        bool checkLlama = sameWeights is not null && exactModel is not null;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{modelSpec}: {config.NumHiddenLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}; {reqs.Count} requests × ≤{maxNewTokens} new tokens, {roundCount} rounds, {threadCount} thread(s) each side, greedy; cllm {string.Join(", ", setup.Models.Select(m => m.Label))} weights, llama.cpp {string.Join(", ", llamas.Select(l => PeerFormats.Label(l.Type)))} GGUF"));
        var keys = new List<string>();
        var speeds = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var decodeSpeeds = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var vsOwnAr = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var tokensPerForward = new Dictionary<string, double>(StringComparer.Ordinal);
        var nll = new Dictionary<string, double>(StringComparer.Ordinal);
        var exactLlama = new Dictionary<string, (int Equal, int Total)>(StringComparer.Ordinal);
        var exactOwn = new Dictionary<string, (int Equal, int Total)>(StringComparer.Ordinal);
        for (int round = 0; round < roundCount; round++)
        {
            IReadOnlyList<BenchmarkRow> rows = Array.Empty<BenchmarkRow>();
            IReadOnlyList<BenchmarkOutcome> outcomes = Array.Empty<BenchmarkOutcome>();
            void RunCllm() => (rows, outcomes) = DecoderBenchmark.Run(setup.Models, reqs, decoderOptions, new Progress(round));
            void RunPeers() => llamas.ForEach(l => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1}: {l.Label} {l.RunRound(reqs, round):F1} tok/s")));
            if (round % 2 == 0)
            {
                RunCllm();
                RunPeers();
            }
            else
            {
                RunPeers();
                RunCllm();
            }

            foreach (var row in rows)
            {
                string key = $"{row.Model} {row.Decoder}";
                if (!speeds.ContainsKey(key))
                {
                    keys.Add(key);
                    speeds[key] = new List<double>();
                    decodeSpeeds[key] = new List<double>();
                    vsOwnAr[key] = new List<double>();
                }

                speeds[key].Add(row.TokensPerSecond);
                decodeSpeeds[key].Add(row.DecodeTokensPerSecond);
                vsOwnAr[key].Add(row.SpeedupVsAr);
                tokensPerForward[key] = row.TokensPerForward;
                nll[key] = row.BaselineNll;
            }

            var ar = outcomes.Where(o => o.Decoder == arLabel).ToDictionary(o => (o.Model, o.Request), o => o.Result.OutputIds);
            foreach (var o in outcomes)
            {
                string key = $"{o.Model} {o.Decoder}";
                var (equal, total) = exactOwn.GetValueOrDefault(key);
                exactOwn[key] = (equal + (o.Result.OutputIds.SequenceEqual(ar[(o.Model, o.Request)]) ? 1 : 0), total + 1);
                if (checkLlama && o.Model == exactModel)
                {
                    (equal, total) = exactLlama.GetValueOrDefault(key);
                    exactLlama[key] = (equal + (o.Result.OutputIds.SequenceEqual(sameWeights!.Ids(o.Request)) ? 1 : 0), total + 1);
                }
            }

            var figures = llamas.Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.Label} {l.Speeds[^1]:F1}"))
                .Concat(rows.Select(r => string.Create(CultureInfo.InvariantCulture, $"cllm {r.Model} {r.Decoder} {r.TokensPerSecond:F1}")));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1}/{roundCount} tok/s: {string.Join("; ", figures)}"));
        }

        var reference = llamas[0];
        bool manyModels = setup.Models.Count > 1;
        double Ratio(IReadOnlyList<double> mine, IReadOnlyList<double> other) => Median(mine.Zip(other, (a, b) => a / b).ToList());
        var header = new List<string> { "decoder", "tok/s med", "min", "max", "decode tok/s", "vs llama AR", "decode vs", "vs own AR", "tok/fwd", "= llama", "= own AR" };
        if (manyModels)
        {
            header.Add("NLL/tok");
        }

        var table = new List<string[]> { header.ToArray() };
        foreach (var l in llamas)
        {
            var cells = new List<string> { l.Label, F(Median(l.Speeds)), F(l.Speeds.Min()), F(l.Speeds.Max()), F(Median(l.DecodeSpeeds)), X(Ratio(l.Speeds, reference.Speeds)), X(Ratio(l.DecodeSpeeds, reference.DecodeSpeeds)), "-", F(l.TokensPerForward, "F2"), "-", "-" };
            if (manyModels)
            {
                cells.Add("-");
            }

            table.Add(cells.ToArray());
        }

        foreach (var key in keys)
        {
            var list = speeds[key];
            var cells = new List<string>
            {
                "cllm " + key, F(Median(list)), F(list.Min()), F(list.Max()), F(Median(decodeSpeeds[key])), X(Ratio(list, reference.Speeds)), X(Ratio(decodeSpeeds[key], reference.DecodeSpeeds)),
                X(Median(vsOwnAr[key])), F(tokensPerForward[key], "F2"), exactLlama.TryGetValue(key, out var e) ? $"{e.Equal}/{e.Total}" : "-", $"{exactOwn[key].Equal}/{exactOwn[key].Total}",
            };
            if (manyModels)
            {
                cells.Add(F(nll[key], "F4"));
            }

            table.Add(cells.ToArray());
        }

        Console.WriteLine();
        Console.WriteLine($"tok/s include the prefill; decode tok/s count the tokens after the prefill forward over the time after it; ratios are medians of per-round ratios, 'vs llama AR' and 'decode vs' against {reference.Label}");
        Console.WriteLine(checkLlama
            ? $"= llama: outputs equal to llama.cpp f32's greedy ids (cllm {exactModel}, the same weights); = own AR: outputs equal to the same weights' Cllm AR"
            : "= own AR: outputs equal to the same weights' Cllm AR. The two sides' weights differ (bfloat16, int8/int4 or a quantized GGUF), so llama.cpp's ids are not expected to match and are not compared");
        if (manyModels)
        {
            Console.WriteLine($"NLL/tok: cllm {setup.Models[0].Label}'s mean negative log-likelihood per generated token of the row's outputs");
        }

        PrintTable(table);
        bool llamaExact = exactLlama.Values.All(v => v.Equal == v.Total);
        bool ownExact = exactOwn.Values.All(v => v.Equal == v.Total);
        if (checkLlama)
        {
            Console.WriteLine(llamaExact ? $"exact: every cllm {exactModel} output equals llama.cpp's greedy ids." : $"NOT EXACT: some cllm {exactModel} outputs differ from llama.cpp's greedy ids.");
        }

        Console.WriteLine(ownExact ? "exact: every Cllm output equals its own AR's." : "NOT EXACT: some Cllm outputs differ from their own AR's (in bfloat16 a near-tie can flip a block forward's choice: docs/growth.md).");
        return llamaExact && ownExact ? 0 : 2;
    }

    /// <summary>One stderr line per measured Cllm request (a long run shows where it is).</summary>
    private sealed class Progress(int round) : IProgress<BenchmarkOutcome>
    {
        public void Report(BenchmarkOutcome value) => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"round {round + 1}: cllm {value.Model} {value.Decoder} request {value.Request + 1}: {value.Result.Stats.GeneratedTokens} tokens in {value.Result.Stats.Elapsed.TotalSeconds:F2} s"));
    }

    private static void PrintTable(List<string[]> table)
    {
        var widths = Enumerable.Range(0, table[0].Length).Select(c => table.Max(row => row[c].Length)).ToArray();
        for (int r = 0; r < table.Count; r++)
        {
            var line = string.Join("  ", table[r].Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c])));
            Console.WriteLine(line);
            if (r == 0)
            {
                Console.WriteLine(new string('-', line.Length));
            }
        }
    }

    private static string F(double value, string format = "F1") => double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);

    private static string X(double value) => double.IsNaN(value) ? "-" : value.ToString("F2", CultureInfo.InvariantCulture) + "x";
}
