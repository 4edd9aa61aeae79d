using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Checkpoints;
using Cllm.Reproduction.Data;
using Cllm.Reproduction.Sql;

namespace Cllm.Quickstart;

/// <summary>
/// Loads the shipped CLLM, answers a few held-out test questions with autoregressive (AR) and Jacobi decoding side
/// by side, shows the SQL, whether it returns the right rows on the question's SQLite database, the tokens per
/// forward pass, and the measured wall-clock speedup of Jacobi over AR.
/// Usage: <c>dotnet run --project samples/Cllm.Quickstart -c Release [-- MODEL_DIR [COUNT [TEST_FILE]]]</c>; the
/// defaults (samples/models/sql-cllm, 6, samples/data/sql-test.jsonl) are found from the repository root.
/// </summary>
internal static class Program
{
    private const int TimingRounds = 5;
    private const string Usage = "usage: Cllm.Quickstart [MODEL_DIR [COUNT [TEST_FILE]]] (defaults: samples/models/sql-cllm, 6, samples/data/sql-test.jsonl in the repository)";

    public static int Main(string[] args)
    {
        if (args is ["-h" or "--help" or "-?"])
        {
            Console.WriteLine(Usage);
            return 0;
        }

        try
        {
            return Run(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or UnauthorizedAccessException or InvalidDataException
                                   or JsonException or CheckpointException or InvalidOperationException or KeyNotFoundException)
        {
            Console.Error.WriteLine($"quickstart: {FirstLine(e.Message)}");
            return 1;
        }
    }

    private static int Run(string[] args)
    {
        if (args.Length > 3)
        {
            throw new ArgumentException($"too many arguments; {Usage}");
        }

        string modelDir = args.Length > 0 ? args[0] : Path.Combine(RepositoryRoot(), "samples", "models", "sql-cllm");
        int count = 6;
        if (args.Length > 1 && (!int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1))
        {
            throw new ArgumentException($"COUNT must be a positive integer, got '{args[1]}'; {Usage}");
        }

        string testFile = args.Length > 2 ? args[2] : Path.Combine(RepositoryRoot(), "samples", "data", "sql-test.jsonl");
        if (!File.Exists(Path.Combine(modelDir, "config.json")))
        {
            throw new FileNotFoundException($"no model folder (with config.json) at {Path.GetFullPath(modelDir)}; {Usage}");
        }

        if (!File.Exists(testFile))
        {
            throw new FileNotFoundException($"test file not found: {Path.GetFullPath(testFile)}; {Usage}");
        }

        int n = RecommendedBlockSize(modelDir);
        var tasks = SqlTaskJsonl.Read(testFile).Take(count).ToList();
        if (tasks.Count == 0)
        {
            throw new InvalidDataException($"{testFile} holds no tasks.");
        }

        // One thread: a model of a few million parameters runs fastest that way (and a busy machine stays usable).
        using var engine = CllmBuilder.FromCheckpoint(modelDir).WithThreads(1).UseJacobi(n).Build();
        var ar = new GenerationOptions { MaxNewTokens = 64, Decoder = DecoderOptions.Autoregressive };
        var jacobi = new GenerationOptions { MaxNewTokens = 64, Decoder = DecoderOptions.Parse($"jacobi:{n}") };
        Console.WriteLine($"model: {modelDir}\nJacobi block size n = {n}; greedy decoding, one CPU thread\n");

        engine.Generate(tasks[0].Prompt, ar);                                               // warm-up: first forward of each shape is slow
        engine.Generate(tasks[0].Prompt, jacobi);
        using var scorer = new ExecutionScorer();
        int correct = 0, identical = 0;
        foreach (var task in tasks)
        {
            var a = engine.Generate(task.Prompt, ar);
            var j = engine.Generate(task.Prompt, jacobi);
            bool ok = scorer.ExecutionMatch(task.DbId, j.Text, task.Sql);
            bool same = a.OutputIds.SequenceEqual(j.OutputIds);
            correct += ok ? 1 : 0;
            identical += same ? 1 : 0;
            Console.WriteLine($"[{task.DbId}] {task.Question}");
            Console.WriteLine($"  SQL     {j.Text}");
            Console.WriteLine($"  result  {(ok ? "correct" : "WRONG")} (gold: {task.Sql})");
            Console.WriteLine(Invariant($"  AR      {a.Stats.GeneratedTokens} tokens in {a.Stats.ForwardPasses} forwards ({a.Stats.TokensPerForward:F2} tokens/forward)"));
            Console.WriteLine(Invariant($"  Jacobi  {j.Stats.GeneratedTokens} tokens in {j.Stats.ForwardPasses} forwards ({j.Stats.TokensPerForward:F2} tokens/forward), same output as AR: {(same ? "yes" : "NO")}\n"));
        }

        // Speed: every question decoded several times by both decoders, interleaved, so machine load hits both alike.
        double arSeconds = 0, jacobiSeconds = 0;
        long arTokens = 0, jacobiTokens = 0;
        for (int round = 0; round < TimingRounds; round++)
        {
            foreach (var task in tasks)
            {
                var first = round % 2 == 0 ? ar : jacobi;
                var second = round % 2 == 0 ? jacobi : ar;
                foreach (var settings in new[] { first, second })
                {
                    var r = engine.Generate(task.Prompt, settings);
                    if (ReferenceEquals(settings, ar))
                    {
                        arSeconds += r.Stats.Elapsed.TotalSeconds;
                        arTokens += r.Stats.GeneratedTokens;
                    }
                    else
                    {
                        jacobiSeconds += r.Stats.Elapsed.TotalSeconds;
                        jacobiTokens += r.Stats.GeneratedTokens;
                    }
                }
            }
        }

        double arSpeed = arTokens / arSeconds, jacobiSpeed = jacobiTokens / jacobiSeconds;
        Console.WriteLine($"{correct}/{tasks.Count} answers execute correctly; Jacobi output = AR output on {identical}/{tasks.Count}");
        Console.WriteLine(Invariant($"speed over {TimingRounds} rounds: AR {arSpeed:F0} tokens/s, Jacobi {jacobiSpeed:F0} tokens/s → {jacobiSpeed / arSpeed:F2}x"));
        return 0;
    }

    /// <summary>The block size the reproduction recommends for the model (reproduction.json), else 16.</summary>
    private static int RecommendedBlockSize(string modelDir)
    {
        string path = Path.Combine(modelDir, "reproduction.json");
        if (!File.Exists(path))
        {
            return 16;
        }

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.TryGetProperty("block_size", out var n) && n.TryGetInt32(out int value) ? value : 16;
    }

    /// <summary>The folder holding Cllm.sln, above the binaries or the working directory.</summary>
    private static string RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Cllm.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new DirectoryNotFoundException("the repository (Cllm.sln) was not found above the program or the working directory; run from within it, or pass MODEL_DIR COUNT TEST_FILE.");
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].TrimEnd();

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
