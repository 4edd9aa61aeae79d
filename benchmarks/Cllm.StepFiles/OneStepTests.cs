using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Core;
using Cllm.Training;

namespace Cllm.StepFiles;

/// <summary>
/// Runs one steady-state step under coverlet so that the coverage report holds the hits of that step alone: setup and
/// warm-up run first, then every instrumented hit counter is zeroed, exactly one step runs, the counters are copied, and
/// at the end (after disposal) the copy is written back, so the report coverlet writes when the session ends is that
/// step's. <c>CLLM_STEP_FILES</c> names the scenario: a decoder spec (<c>ar</c>, <c>jacobi:16</c>, …) for one iteration of
/// the draft-verify loop, or <c>train</c> for one optimizer step of <see cref="ConsistencyTrainer"/> (the CLLM objective).
/// <c>CLLM_STEP_FILES_MODEL</c> names the model under samples/models (stories260K by default). Run by
/// benchmarks/CountStepFiles.cs; skipped otherwise.
/// </summary>
public class OneStepTests
{
    /// <summary>Decode steps after the prefill before the measured one.</summary>
    private const int WarmDecodeSteps = 1;

    /// <summary>Training steps before the measured one (below TrainingOptions.LogEvery, so the measured step logs nothing).</summary>
    private const int WarmTrainingSteps = 3;

    [SkippableFact]
    public void OneStep()
    {
        string? scenario = Environment.GetEnvironmentVariable("CLLM_STEP_FILES");
        Skip.If(string.IsNullOrEmpty(scenario), "set CLLM_STEP_FILES (benchmarks/CountStepFiles.cs does)");
        var hits = HitCounters.Find();

        int[][] step;
        string note;
        string model = Environment.GetEnvironmentVariable("CLLM_STEP_FILES_MODEL") is { Length: > 0 } name ? name : "stories260K";
        using (var pretrained = PretrainedModel.Load(Path.Combine(RepositoryRoot(), "samples", "models", model)))
        {
            var prompts = Prompts(model).Select(p => (IReadOnlyList<int>)pretrained.Tokenizer.Encode(p)).ToList();
            (step, note) = scenario == "train" ? Train(pretrained, prompts, hits) : Decode(pretrained, prompts, scenario!, hits);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        hits.Restore(step);                                                                  // the report is the step's hits alone
        string? notePath = Environment.GetEnvironmentVariable("CLLM_STEP_FILES_NOTE");
        if (!string.IsNullOrEmpty(notePath))
        {
            File.WriteAllText(notePath, note);
        }
    }

    /// <summary>
    /// A whole warm-up request, then the other prompts' requests in turn: in each, the prefill and
    /// <see cref="WarmDecodeSteps"/> steps run unmeasured, then each step alone is measured, until a step that accepts
    /// draft tokens is found (AR never accepts any); that step is kept, else the first one measured. The last step of a
    /// request (which also finishes it) is never kept.
    /// </summary>
    private static (int[][] Hits, string Note) Decode(PretrainedModel pretrained, IReadOnlyList<IReadOnlyList<int>> prompts, string spec, HitCounters hits)
    {
        var decoderOptions = DecoderOptions.Parse(spec);
        var decoder = decoderOptions.CreateDecoder(pretrained.Model);
        bool drafts = decoderOptions is not AutoregressiveOptions;
        var options = new GenerationOptions { MaxNewTokens = 256, StopTokenIds = pretrained.EosTokenIds };
        decoder.DecodeToEnd(new DecodeRequest { PromptIds = prompts[0], Options = options });

        int[][]? measured = null;
        DecodeStep? kept = null;
        int seen = 0, keptPrompt = 0;
        bool Searching() => kept is null || (drafts && kept.Tokens.Count == 1);
        for (int p = 1; p < prompts.Count && Searching(); p++)
        {
            using var steps = decoder.Decode(new DecodeRequest { PromptIds = prompts[p], Options = options }).GetEnumerator();
            for (int i = 0; i <= WarmDecodeSteps && steps.MoveNext(); i++)                 // the prefill, then the warm steps
            {
            }

            while (Searching())
            {
                hits.Zero();
                if (!steps.MoveNext())                                                     // one iteration of the loop
                {
                    break;
                }

                var step = steps.Current;
                seen++;
                if (step.Finish == FinishReason.None && (kept is null || step.Tokens.Count > 1))
                {
                    (measured, kept, keptPrompt) = (hits.Snapshot(), step, p);
                }
            }
        }

        Assert.True(kept is not null, $"{spec}: no request had a decode step after step {WarmDecodeSteps} that is not its last");
        return (measured!, $"{spec}: step {kept.StepIndex} of prompt {keptPrompt} emitted {kept.Tokens.Count} token(s) ({kept.Tokens.Count - 1} accepted draft tokens; {seen} step(s) measured)");
    }

    /// <summary>Trajectories collected from the model itself, then a short CLLM run; the step after <see cref="WarmTrainingSteps"/> is measured.</summary>
    private static (int[][] Hits, string Note) Train(PretrainedModel pretrained, IReadOnlyList<IReadOnlyList<int>> prompts, HitCounters hits)
    {
        var collection = new TrajectoryCollectionOptions { BlockSize = 16, MaxNewTokens = 64, EosTokenIds = pretrained.EosTokenIds };
        var records = new JacobiTrajectoryCollector(pretrained.Model, prompts, collection).Read().ToList();
        var options = new TrainingOptions { BatchSize = 4, GradientAccumulation = 1, MaxSteps = WarmTrainingSteps + 2, LearningRate = 1e-4, Seed = 1 };
        var trainer = new ConsistencyTrainer(pretrained.Model, options);

        int[][]? measured = null;
        var progress = new SynchronousProgress<TrainingProgress>(p =>
        {
            if (p.Step == WarmTrainingSteps)
            {
                hits.Zero();                                                                // after step 3's report ...
            }
            else if (p.Step == WarmTrainingSteps + 1)
            {
                measured = hits.Snapshot();                                                 // ... to step 4's: one step
            }
        });
        trainer.Train(records, progress);
        Assert.NotNull(measured);
        return (measured!, $"train: step {WarmTrainingSteps + 1} of {options.MaxSteps}, {records.Count} records, objective {options.Objective}, batch {options.BatchSize}");
    }

    /// <summary>Four prompts: the SQL models' test questions with the longest answers (so a request has steps to spare), or TinyStories openings.</summary>
    private static IEnumerable<string> Prompts(string model)
    {
        if (!model.StartsWith("sql", StringComparison.Ordinal))
        {
            return new[] { "Once upon a time", "The little dog", "Lily and Tom", "One day a bird" };
        }

        return File.ReadLines(Path.Combine(RepositoryRoot(), "samples", "data", "sql-test.jsonl"))
            .Select(line =>
            {
                using var json = JsonDocument.Parse(line);
                return (Prompt: json.RootElement.GetProperty("prompt").GetString()!, Answer: json.RootElement.GetProperty("answer").GetString()!);
            })
            .OrderByDescending(q => q.Answer.Length)
            .Take(4)
            .Select(q => q.Prompt)
            .ToList();
    }

    private static string RepositoryRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Cllm.sln")))
        {
            root = root.Parent;
        }

        return root?.FullName ?? throw new DirectoryNotFoundException($"repository root (Cllm.sln) not found above {AppContext.BaseDirectory}");
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
