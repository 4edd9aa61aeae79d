// Quickstart: the shipped text-to-SQL CLLM answers held-out questions with autoregressive (AR) and Jacobi decoding side
// by side: its SQL, whether it equals the reference SQL, tokens per forward pass, and Jacobi's wall-clock speedup over AR.
// dotnet run --project samples/Cllm.Quickstart -c Release [-- MODEL_DIR [COUNT]]
using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm;

string root = AppContext.BaseDirectory;
while (!File.Exists(Path.Combine(root, "Cllm.sln")))
{
    root = Path.GetDirectoryName(root.TrimEnd('/', '\\')) ?? throw new DirectoryNotFoundException("run from within the Cllm repository");
}

string modelDir = args.Length > 0 ? args[0] : Path.Combine(root, "samples", "models", "sql-cllm");
int count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 6;
var tasks = File.ReadLines(Path.Combine(root, "samples", "data", "sql-test.jsonl")).Take(count)
    .Select(line => JsonDocument.Parse(line).RootElement)
    .Select(t => (Prompt: t.GetProperty("prompt").GetString()!, Question: t.GetProperty("question").GetString()!, Sql: t.GetProperty("answer").GetString()!))
    .ToList();

// One thread: a model of a few million parameters runs fastest that way (and a busy machine stays usable).
using var engine = CllmBuilder.FromCheckpoint(modelDir).WithThreads(1).UseJacobi(n: 16).Build();
var ar = new GenerationOptions { MaxNewTokens = 64, Decoder = DecoderOptions.Autoregressive };
var jacobi = new GenerationOptions { MaxNewTokens = 64, Decoder = engine.DecoderOptions };
Console.WriteLine($"model: {modelDir}; Jacobi n = 16, greedy, one CPU thread\n");
engine.Generate(tasks[0].Prompt, ar);                                                     // warm-up: first forward of each shape is slow
engine.Generate(tasks[0].Prompt, jacobi);

int correct = 0, identical = 0;
foreach (var task in tasks)
{
    var a = engine.Generate(task.Prompt, ar);
    var j = engine.Generate(task.Prompt, jacobi);
    bool ok = j.Text.Trim() == task.Sql, same = a.OutputIds.SequenceEqual(j.OutputIds);
    correct += ok ? 1 : 0;
    identical += same ? 1 : 0;
    Console.WriteLine($"{task.Question}\n  SQL     {j.Text.Trim()}\n  equals the reference SQL: {(ok ? "yes" : "NO, reference: " + task.Sql)}");
    Console.WriteLine($"  AR      {a.Stats.TokensPerForward:F2} tokens/forward; Jacobi {j.Stats.TokensPerForward:F2} tokens/forward "
        + $"({j.Stats.IterationsPerBlock:F1} iterations per block), same output as AR: {(same ? "yes" : "NO")}\n");
}

Console.WriteLine($"{correct}/{tasks.Count} equal the reference SQL; Jacobi output = AR output on {identical}/{tasks.Count}");
double arSeconds = 0, jacobiSeconds = 0;                                                  // speed: 5 interleaved rounds, so machine load hits both alike
for (int round = 0; round < 5; round++)
{
    foreach (var task in tasks)
    {
        arSeconds += engine.Generate(task.Prompt, ar).Stats.Elapsed.TotalSeconds;
        jacobiSeconds += engine.Generate(task.Prompt, jacobi).Stats.Elapsed.TotalSeconds;
    }
}

Console.WriteLine($"wall clock over 5 rounds: AR {arSeconds * 1000:F0} ms, Jacobi {jacobiSeconds * 1000:F0} ms -> {arSeconds / jacobiSeconds:F2}x");
