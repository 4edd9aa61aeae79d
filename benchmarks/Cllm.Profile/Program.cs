// Prints where a forward's time goes (ms per op class per forward) at T=1 and T=16 (CLLM_PROFILE_T=1,33,96 for others) with 128 cached tokens.
// Usage: Cllm.Profile MODEL [THREADS] [DTYPE] [QUANTIZE] where MODEL is a checkpoint folder, random:15m or random:260k,
// DTYPE float32 | bfloat16 and QUANTIZE none | int8 | int4 | int4a8 | bfloat16 (checkpoint folders only).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Cllm;
using Cllm.Benchmarking;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: Cllm.Profile MODEL [THREADS] [DTYPE] [QUANTIZE]   (MODEL: a checkpoint folder, random:15m or random:260k)");
    return 2;
}

int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
torch.set_num_threads(threads);
CllmEngine? engine = null;
LlamaForCausalLM model;
if (args[0].StartsWith("random:", StringComparison.OrdinalIgnoreCase))
{
    bool large = args[0].Equals("random:15m", StringComparison.OrdinalIgnoreCase);
    var config = large
        ? new LlamaConfig { VocabSize = 32000, HiddenSize = 288, IntermediateSize = 768, NumHiddenLayers = 6, NumAttentionHeads = 6, NumKeyValueHeads = 6, MaxPositionEmbeddings = 1024, RmsNormEps = 1e-5, TieWordEmbeddings = true }
        : new LlamaConfig { VocabSize = 512, HiddenSize = 64, IntermediateSize = 172, NumHiddenLayers = 5, NumAttentionHeads = 8, NumKeyValueHeads = 4, MaxPositionEmbeddings = 512, RmsNormEps = 1e-5, TieWordEmbeddings = true };
    torch.manual_seed(0);
    model = new LlamaForCausalLM(config);
    model.eval();
}
else
{
    var builder = CllmBuilder.FromCheckpoint(args[0]);
    if (args.Length > 2)
    {
        builder = builder.WithDType(Enum.Parse<ScalarType>(args[2], ignoreCase: true));
    }

    if (args.Length > 3)
    {
        builder = builder.WithQuantization(Enum.Parse<WeightQuantization>(args[3], ignoreCase: true));
    }

    engine = builder.Build();
    model = engine.Model;
}

string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
var columns = new List<(string Name, ForwardBreakdownResult Result)>();
foreach (int t in (Environment.GetEnvironmentVariable("CLLM_PROFILE_T") ?? "1,16").Split(",").Select(int.Parse))
{
    columns.Add(($"T={t}", ForwardBreakdown.Measure(model, t, rounds: t == 1 ? 300 : t <= 16 ? 100 : 20)));
}

var results = columns.Select(c => c.Result).ToArray();
Console.WriteLine($"| op class (ms per forward) | {string.Join(" | ", columns.Select(c => c.Name))} |");
Console.WriteLine($"|---|{string.Join("|", results.Select(_ => "---"))}|");
for (int op = 0; op < results[0].OpMilliseconds.Count; op++)
{
    Console.WriteLine($"| {results[0].OpMilliseconds[op].Op} | {string.Join(" | ", results.Select(r => F(r.OpMilliseconds[op].Milliseconds)))} |");
}

Console.WriteLine($"| readback (top-2, ids and margins to host) | {string.Join(" | ", results.Select(r => F(r.ReadbackMilliseconds)))} |");
Console.WriteLine($"| sum of the medians above | {string.Join(" | ", results.Select(r => F(r.OpMilliseconds.Sum(o => o.Milliseconds) + r.ReadbackMilliseconds)))} |");
Console.WriteLine($"| **wall, profiler off (median)** | {string.Join(" | ", results.Select(r => "**" + F(r.TotalMilliseconds) + "**"))} |");
Console.WriteLine($"| one tiny op from C# (µs) | {string.Join(" | ", results.Select(r => F(r.MicrosecondsPerTinyOp)))} |");
engine?.Dispose();
if (engine is null)
{
    model.Dispose();
}

return 0;
