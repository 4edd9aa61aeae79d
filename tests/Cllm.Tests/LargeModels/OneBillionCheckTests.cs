using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Cllm.Core;
using Cllm;
using Cllm.Tests.TestKit;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Cllm.Tests.LargeModels;

/// <summary>
/// The 1B-class check (opt-in: CLLM_LONG_TESTS=1; ~4.4 GB of disk and a few minutes on 2 cores): a random-weight
/// float32 checkpoint in the TinyLlama-1.1B shape loads and decodes with AR and Jacobi within a peak-RSS budget —
/// float32 ≤ 1.3× the weight file, bfloat16 (converted while loading) ≤ 0.8× the float32 file. Prints load time,
/// time to first token and tokens/s (run with --logger "console;verbosity=detailed" to see them).
/// </summary>
[Collection(LongRunCollection.Name)]
public class OneBillionCheckTests : IClassFixture<TinyLlamaShapeFolder>
{
    private const int NewTokens = 32;
    private readonly TinyLlamaShapeFolder _folder;
    private readonly ITestOutputHelper _output;

    public OneBillionCheckTests(TinyLlamaShapeFolder folder, ITestOutputHelper output)
    {
        _folder = folder;
        _output = output;
    }

    [SkippableTheory]
    [InlineData(ScalarType.Float32, 1.3)]
    [InlineData(ScalarType.BFloat16, 0.8)]
    public void TinyLlamaShapeLoadsAndDecodesWithinItsMemoryBudget(ScalarType dtype, double budgetOfFloat32File)
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("CLLM_LONG_TESTS") == "1", "long run: set CLLM_LONG_TESTS=1 to write a 4.4 GB TinyLlama-shape checkpoint and measure load + decode");
        Skip.IfNot(ProcessMemory.Available, "peak RSS is read from /proc/self/status (Linux only)");
        long freeDisk = new DriveInfo(Path.GetTempPath()).AvailableFreeSpace;
        Skip.If(Environment.GetEnvironmentVariable("CLLM_1B_FOLDER") is not { Length: > 0 } && freeDisk < 10_000_000_000L,
            Invariant($"the 1B check writes a 4.4 GB checkpoint under {Path.GetTempPath()}, which has only {freeDisk / 1e9:F1} GB free (needs 10 GB); set CLLM_1B_FOLDER to an existing folder"));
        long freeMemory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        Skip.If(freeMemory < 8_000_000_000L, Invariant($"the 1B check needs about 6 GB of RAM; this machine reports {freeMemory / 1e9:F1} GB"));
        string folder = _folder.Path;
        long fileBytes = new FileInfo(Path.Combine(folder, HfModelDirectory.SingleWeightsFileName)).Length;
        var config = HfModelDirectory.Open(folder).ReadConfig();
        Assert.Equal("float32", config.TorchDtype);

        // The public constructor (random init of every Linear, which Build skips) is timed apart, then dropped before memory is measured.
        var construct = Stopwatch.StartNew();
        using (new LlamaForCausalLM(config, dtype))
        {
            construct.Stop();
        }

        ProcessMemory.RestartPeak();
        long before = ProcessMemory.CurrentBytes;
        var load = Stopwatch.StartNew();
        using var engine = CllmBuilder.FromCheckpoint(folder).WithDType(dtype).Build();
        load.Stop();
        long afterLoad = ProcessMemory.PeakBytes;
        Assert.Equal(dtype, engine.Model.DType);

        var settings = new GenerationOptions { MaxNewTokens = NewTokens };
        string prompt = "Once upon a time, in a small village by the sea, there lived an old fisherman who";
        var report = Invariant($"{dtype}: file {fileBytes / 1e9:F2} GB; RSS before load {before / 1e9:F2} GB; constructor with random init (which Build skips) {construct.Elapsed.TotalSeconds:F1} s; Build (construct + load) {load.Elapsed.TotalSeconds:F1} s; peak after load {afterLoad / 1e9:F2} GB");
        foreach (var decoder in new[] { DecoderOptions.Autoregressive, new JacobiOptions { BlockSize = 16 } })
        {
            var request = engine.CreateRequest(prompt, settings);
            var clock = Stopwatch.StartNew();
            TimeSpan? first = null;
            DecodeStep? last = null;
            foreach (var step in engine.Run(request, decoder))
            {
                first ??= clock.Elapsed;
                last = step;
            }

            clock.Stop();
            var stats = last!.Stats!;
            Assert.Equal(NewTokens, stats.GeneratedTokens);
            report += Invariant($"\n  {decoder.Label}: prompt {request.PromptIds.Count} tokens, time to first token {first!.Value.TotalMilliseconds:F0} ms, {stats.GeneratedTokens} tokens in {clock.Elapsed.TotalSeconds:F2} s = {stats.GeneratedTokens / clock.Elapsed.TotalSeconds:F2} tokens/s ({stats.TokensPerForward:F2} tokens/forward, {stats.ForwardPasses} forwards)");
        }

        long peak = ProcessMemory.PeakBytes;
        double budget = budgetOfFloat32File * fileBytes;
        report += Invariant($"\n  peak RSS {peak / 1e9:F2} GB = {(double)peak / fileBytes:F2}× the float32 file (budget {budgetOfFloat32File}×)");
        _output.WriteLine(report);
        Console.WriteLine(report);
        Assert.True(peak <= budget, report);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
