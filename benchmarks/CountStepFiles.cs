// Counts the source files under src/ whose code runs during ONE steady-state step, per scenario:
//   dotnet run benchmarks/CountStepFiles.cs -- [--scenarios ar,jacobi:16,train] [--model stories260K] [--source NUGET_FOLDER]
// (from the repository root; about a minute). Scenarios: a decoder spec (ar, jacobi:16, lookahead, ...) is one iteration of the
// draft-verify loop (propose a draft, one forward over the KV cache, verify and accept, cut the cache back, observe,
// stop checks, emit) on samples/models/stories260K, after a whole warm-up request and the measured request's prefill and
// first decode step: the first later step that accepts draft tokens (trying up to 3 prompts; else the first later step,
// as for AR), never a request's last;
// `train` is the 4th optimizer step of ConsistencyTrainer (the CLLM objective; batch 4, no gradient accumulation) on
// Jacobi trajectories collected from the same model. Setup (model load, options, decoder and trainer construction,
// prefill, collection) is excluded.
// How: benchmarks/Cllm.StepFiles runs each scenario in its own `dotnet test --collect "XPlat Code Coverage"` process;
// the test zeroes coverlet's hit counters just before the step and writes back their values of just after it, so the
// Cobertura report holds that step's hits alone. A file counts when any of its lines was hit. Each scenario runs twice,
// the second time with coverlet's SkipAutoProps, to tell the files whose only code run is auto-property accessors
// (records and option/stat types read on the hot path), marked "(auto-properties only)".
// --model: another folder under samples/models (sql-cllm: a CLLM that accepts several draft tokens per step).
// --source: a local NuGet folder for restoring coverlet.collector without a registry (e.g. an offline package cache).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Xml.Linq;

string root = Directory.GetCurrentDirectory();
if (!File.Exists(Path.Combine(root, "Cllm.sln")))
{
    Console.Error.WriteLine("run from the repository root (the folder holding Cllm.sln)");
    return 2;
}

string[] scenarios = ["ar", "jacobi:16", "train"];
string? source = null;
string model = "stories260K";
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--scenarios" when i + 1 < args.Length:
            scenarios = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            break;
        case "--model" when i + 1 < args.Length:
            model = args[++i];
            break;
        case "--source" when i + 1 < args.Length:
            source = args[++i];
            break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}; usage: dotnet run benchmarks/CountStepFiles.cs -- [--scenarios ar,jacobi:16,train] [--model stories260K] [--source NUGET_FOLDER]");
            return 2;
    }
}

string project = Path.Combine("benchmarks", "Cllm.StepFiles", "Cllm.StepFiles.csproj");
var build = new List<string> { "build", project, "-c", "Release", "--nologo", "-v", "quiet" };
if (source is not null)
{
    build.AddRange(["--source", source]);
}

if (Run(build, null) != 0)
{
    Console.Error.WriteLine($"building {project} failed");
    return 1;
}

string work = Path.Combine(Path.GetTempPath(), "cllm-step-files-" + Guid.NewGuid().ToString("N"));
var results = new List<(string Scenario, string Note, SortedDictionary<string, int> Files, HashSet<string> BeyondAutoProps)>();
try
{
    foreach (var scenario in scenarios)
    {
        var (note, files) = Measure(scenario, skipAutoProps: false);
        var (_, beyond) = Measure(scenario, skipAutoProps: true);
        if (note is null || files is null || beyond is null)
        {
            return 1;
        }

        results.Add((scenario, note, files, beyond.Keys.ToHashSet()));
    }
}
finally
{
    if (Directory.Exists(work))
    {
        Directory.Delete(work, recursive: true);
    }
}

Console.WriteLine($"model: samples/models/{model}");
foreach (var (scenario, note, files, beyond) in results)
{
    var libraries = files.Keys.Where(IsLibrary).ToList();
    var byProject = libraries.GroupBy(f => f.Split('/')[1]).Select(g => $"{g.Key} {g.Count()}");
    Console.WriteLine($"{scenario}: {libraries.Count} files in src/Cllm.{{Core,Decoding,Training}} ({string.Join(", ", byProject)}), "
        + $"{libraries.Count(beyond.Contains)} beyond auto-properties [{note}]");
    foreach (var file in libraries)
    {
        Console.WriteLine($"  {file} ({files[file]} lines){(beyond.Contains(file) ? "" : " (auto-properties only)")}");
    }

    foreach (var file in files.Keys.Where(f => !IsLibrary(f)))
    {
        Console.WriteLine($"  (outside the three libraries) {file} ({files[file]} lines)");
    }
}

Console.WriteLine("files per step: " + string.Join(", ", results.Select(r => $"{r.Scenario} {r.Files.Keys.Count(IsLibrary)} ({r.Files.Keys.Count(f => IsLibrary(f) && r.BeyondAutoProps.Contains(f))} beyond auto-properties)")));
return 0;

// One coverage run of a scenario: the test's note and the files its step hit (null after printing why the run failed).
(string? Note, SortedDictionary<string, int>? Files) Measure(string scenario, bool skipAutoProps)
{
    string dir = Path.Combine(work, scenario.Replace(':', '-') + (skipAutoProps ? "-skip-auto-props" : ""));
    Directory.CreateDirectory(dir);
    string note = Path.Combine(dir, "note.txt");
    var env = new Dictionary<string, string> { ["CLLM_STEP_FILES"] = scenario, ["CLLM_STEP_FILES_NOTE"] = note, ["CLLM_STEP_FILES_MODEL"] = model };
    const string Configuration = "DataCollectionRunSettings.DataCollectors.DataCollector.Configuration.";
    int code = Run(
        ["test", project, "-c", "Release", "--no-build", "--nologo", "--collect", "XPlat Code Coverage", "--results-directory", dir,
         "--", Configuration + "Include=[Cllm.*]*", Configuration + "SkipAutoProps=" + (skipAutoProps ? "true" : "false")],
        env);
    string? report = Directory.GetFiles(dir, "coverage.cobertura.xml", SearchOption.AllDirectories).FirstOrDefault();
    if (code != 0 || report is null || !File.Exists(note))
    {
        Console.Error.WriteLine($"{scenario}: the coverage run failed (exit {code}{(report is null ? ", no coverage report" : "")})");
        return (null, null);
    }

    return (File.ReadAllText(note).Trim(), HitFiles(report, root));
}

// Repository-relative paths (forward slashes) of the files with at least one hit line, and how many lines were hit.
static SortedDictionary<string, int> HitFiles(string report, string root)
{
    var doc = XDocument.Load(report);
    var sources = doc.Descendants("source").Select(s => s.Value).ToList();
    var hit = new Dictionary<string, HashSet<int>>();
    foreach (var cls in doc.Descendants("class"))
    {
        string name = cls.Attribute("filename")!.Value;
        string full = Path.IsPathRooted(name) ? name
            : sources.Select(s => Path.Combine(s, name)).FirstOrDefault(File.Exists) ?? Path.Combine(sources.FirstOrDefault() ?? root, name);
        string file = Path.GetRelativePath(root, full).Replace('\\', '/');
        var lines = cls.Elements("lines").Elements("line")
            .Where(l => long.Parse(l.Attribute("hits")!.Value, System.Globalization.CultureInfo.InvariantCulture) > 0)
            .Select(l => int.Parse(l.Attribute("number")!.Value, System.Globalization.CultureInfo.InvariantCulture));
        foreach (int line in lines)
        {
            if (!hit.TryGetValue(file, out var set))
            {
                hit[file] = set = [];
            }

            set.Add(line);
        }
    }

    return new SortedDictionary<string, int>(hit.ToDictionary(kv => kv.Key, kv => kv.Value.Count), StringComparer.Ordinal);
}

static bool IsLibrary(string file)
    => file.StartsWith("src/Cllm.Core/", StringComparison.Ordinal) || file.StartsWith("src/Cllm.Decoding/", StringComparison.Ordinal)
       || file.StartsWith("src/Cllm.Training/", StringComparison.Ordinal);

// Runs dotnet with the given arguments (and extra environment), its output going to stderr so that stdout is the report.
static int Run(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment)
{
    var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
    foreach (var a in arguments)
    {
        start.ArgumentList.Add(a);
    }

    foreach (var (key, value) in environment ?? new Dictionary<string, string>())
    {
        start.Environment[key] = value;
    }

    using var process = Process.Start(start)!;
    process.OutputDataReceived += (_, e) =>
    {
        if (e.Data is not null)
        {
            Console.Error.WriteLine(e.Data);
        }
    };
    process.BeginOutputReadLine();
    process.WaitForExit();
    return process.ExitCode;
}
