using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Benchmarking;
using Cllm.Core;
using Spectre.Console;

namespace Cllm.CommandLine.Commands;

/// <summary>
/// <c>cllm bench</c>: the forward-cost curve of the loaded model, then several decoders interleaved on
/// the same prompts in one process, as ratios against AR measured in the same run.
/// </summary>
internal static class BenchCommand
{
    /// <summary>Tokens cached before each forward of the cost curve.</summary>
    private const int CurvePast = 128;

    public static Command Create()
    {
        var model = new ModelArguments(random: true);
        var prompts = new Option<string?>("--prompts") { Description = "JSONL prompts (required for a checkpoint folder; random models use synthetic prompts)" };
        var decoders = new Option<string>("--decoders") { Description = "Comma-separated: ar, jacobi[:N], lookahead[:WxNxG], multiblock[:NxKxRxP|:auto]", DefaultValueFactory = _ => "ar,jacobi,lookahead" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens per request", DefaultValueFactory = _ => GenerationOptions.DefaultMaxNewTokens };
        var requests = new Option<int>("--requests") { Description = "Most prompts used (synthetic prompts for random models)", DefaultValueFactory = _ => 8 };
        var curve = new Option<string>("--curve") { Description = "Forward sizes T for the cost curve ('' to skip)", DefaultValueFactory = _ => "1,2,4,8,16,32" };
        var output = new OutputArguments(OutputKind.File, "Also write the results as JSON here (an existing file is replaced)", required: false);
        var threads = new ThreadArguments();
        var baseline = new Option<string?>("--baseline") { Description = "A second checkpoint folder (e.g. the base model of a CLLM) run interleaved with --model; its AR is the reference of 'vs base AR'. Both must share a tokenizer" };
        var decoderArgs = new DecoderArguments();
        var placement = new PlacementArguments();
        var command = new Command("bench", "Compare decoders side by side: tokens/s, speedup vs AR, tokens per forward, iterations per block, fast-forwarded and stationary tokens, exact match vs AR; and the forward-cost curve.")
        {
            baseline, prompts, decoders, maxNew, requests, curve,
        };
        model.AddTo(command);
        output.AddTo(command);
        threads.AddTo(command);
        decoderArgs.AddTo(command);
        placement.AddTo(command, quantize: true);
        command.SetAction((parse, cancellationToken) => System.Threading.Tasks.Task.FromResult(CliErrors.Run(parse, () =>
        {
            int? threadCount = threads.Apply(parse);
            string modelSpec = model.Spec(parse);

            var decoderList = DecoderArguments.Specs(parse.GetValue(decoders), decoders.Name).Select(d => decoderArgs.Resolve(parse, d, decoders.Name)).ToList();
            int maxNewTokens = parse.GetValue(maxNew);
            int count = parse.GetValue(requests);
            ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1, "--max-new-tokens");
            ArgumentOutOfRangeException.ThrowIfLessThan(count, 1, "--requests");
            var sizes = parse.GetValue(curve)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int t) && t >= 1 ? t : throw new FormatException($"--curve: '{s}' is not a positive token count.")).ToList();
            string? outputPath = output.Check(parse);                                      // before measuring anything

            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            if (Console.IsErrorRedirected)
            {
                console.Profile.Width = 200;                                                   // logs and CI: never wrap the tables
            }

            if (Console.IsOutputRedirected)
            {
                AnsiConsole.Profile.Width = 200;
            }

            PretrainedModel? pretrained = null;
            PretrainedModel? basePretrained = null;
            LlamaForCausalLM llm;
            List<DecodeRequest> list;
            if (model.IsRandom(parse))
            {
                if (placement.RequestedQuantization(parse) != WeightQuantization.None)
                {
                    throw new ArgumentException($"--quantize needs a checkpoint folder (it quantizes weights as they are read), not the random model '{modelSpec}'.");
                }

                if (parse.GetValue(prompts) is { } unused)
                {
                    throw new ArgumentException($"--prompts {unused}: the random model '{modelSpec}' has no tokenizer and decodes synthetic prompts; give a checkpoint folder to use a prompts file.");
                }

                llm = RandomModels.Create(modelSpec, dtype: placement.RequestedDType(parse) ?? TorchSharp.torch.ScalarType.Float32, device: placement.ResolveDevice(parse));
                ThreadArguments.DefaultFor(llm, threadCount);                             // as a loaded model of its size would get
                var random = new Random(1234);
                list = Enumerable.Range(0, count).Select(_ => new DecodeRequest
                {
                    PromptIds = Enumerable.Range(0, 24).Select(_ => random.Next(3, llm.Config.VocabSize)).Prepend(1).ToArray(),
                    Options = new GenerationOptions { MaxNewTokens = maxNewTokens },
                }).ToList();
            }
            else
            {
                var file = parse.GetValue(prompts) ?? throw new ArgumentException("--prompts is required with a checkpoint folder.");
                model.Folder(parse);
                if (parse.GetValue(baseline) is { } baseFolder)
                {
                    ModelArguments.CheckFolder(baseFolder, baseline.Name);
                }

                var numbered = PromptFile.ReadNumbered(file).Take(count).ToList();          // before a model loads
                pretrained = PretrainedModel.Load(modelSpec, placement.LoaderOptions(parse, modelSpec, threadCount));
                llm = pretrained.Model;
                var texts = numbered.Select(p => p.Text).ToList();
                list = texts.Select(p => Request(pretrained, p, maxNewTokens)).ToList();
                for (int i = 0; i < list.Count; i++)
                {
                    try
                    {
                        list[i].Validate(llm.Config.VocabSize, llm.Config.MaxPositionEmbeddings);   // before measuring anything
                    }
                    catch (ArgumentException ex)
                    {
                        pretrained.Dispose();
                        throw new FormatException($"{file}:{numbered[i].Line}: {CliErrors.OneLine(ex)}", ex);
                    }
                }

                if (parse.GetValue(baseline) is { } baseDir)
                {
                    basePretrained = PretrainedModel.Load(baseDir, placement.LoaderOptions(parse, baseDir, threadCount));
                    var baseList = texts.Select(p => Request(basePretrained, p, maxNewTokens)).ToList();
                    if (!baseList.Zip(list).All(pair => pair.First.PromptIds.SequenceEqual(pair.Second.PromptIds) && pair.First.Options.StopTokenIds!.SequenceEqual(pair.Second.Options.StopTokenIds!)))
                    {
                        basePretrained.Dispose();
                        pretrained.Dispose();
                        throw new ArgumentException($"--baseline {baseDir} tokenizes the prompts differently or stops on other EOS ids than --model; compare models that share a tokenizer.");
                    }
                }
            }

            using (pretrained)
            using (basePretrained)
            using (llm)
            {
                int context = llm.Config.MaxPositionEmbeddings;
                if (sizes.Count > 0 && sizes.Max() + CurvePast > context)
                {
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                        $"--curve: T = {sizes.Max()} does not fit the model's context of {context} positions beside the {CurvePast} cached tokens the curve is measured over; use T ≤ {context - CurvePast}."));
                }

                decoderList.ForEach(d => d.CheckFits(llm.Config));                          // before the curve is measured

                long parameters = llm.ParameterCount;
                console.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"[bold]{Markup.Escape(modelSpec)}[/]: {parameters:N0} parameters ({llm.DType}, {llm.Device}), {Counted.Of(llm.Config.NumHiddenLayers, "layer")}, vocab {llm.Config.VocabSize}; {Counted.Of(Environment.ProcessorCount, "core")}, {Counted.Of(TorchSharp.torch.get_num_threads(), "torch thread")}; {Counted.Of(list.Count, "request")} × {Counted.Of(maxNewTokens, "new token")}"));
                if (llm.Quantization != WeightQuantization.None)
                {
                    console.MarkupLine(Markup.Escape($"quantized: {llm.QuantizationSummary()}"));
                }

                IReadOnlyList<ForwardCost> points = Array.Empty<ForwardCost>();
                if (sizes.Count > 0)
                {
                    Console.Error.WriteLine($"measuring the forward cost at T = {string.Join(',', sizes)}...");
                    points = ForwardCostCurve.Measure(llm, sizes, CurvePast);
                    var curveTable = new Table().Title($"forward cost, {CurvePast} tokens cached").AddColumn("T").AddColumn("median ms").AddColumn("cost vs T=1");
                    foreach (var p in points)
                    {
                        curveTable.AddRow(p.Tokens.ToString(CultureInfo.InvariantCulture), p.MedianMilliseconds.ToString("F2", CultureInfo.InvariantCulture), p.CostVsOne.ToString("F2", CultureInfo.InvariantCulture) + "x");
                    }

                    console.Write(curveTable);
                }

                var models = basePretrained is null
                    ? new[] { new BenchmarkModel("model", llm) }
                    : new[] { new BenchmarkModel("base", basePretrained.Model), new BenchmarkModel("model", llm) };
                int runs = models.Length * decoderList.Count;
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"warming up {Counted.Of(runs, "decoder")} on one request each (not measured), then {Counted.Of(list.Count * runs, "measured request")} ({list.Count} × {runs}, interleaved)..."));
                var (rows, outcomes) = DecoderBenchmark.Run(models, list, decoderList, new RequestProgress(list.Count * runs, basePretrained is not null), cancellationToken);
                var table = new Table().Title("decoders, interleaved on the same prompts");
                if (basePretrained is not null)
                {
                    table.AddColumn("model");
                }

                table.AddColumns("decoder", "tokens/s", "speedup vs AR", "tokens/forward", "iter/block", "fast-fwd", "stationary", "accepted/step", "exact vs AR", "min margin");
                if (basePretrained is not null)
                {
                    table.AddColumn("vs base AR");
                    table.AddColumn("base NLL/token");
                }

                foreach (var r in rows)
                {
                    var cells = new List<string>
                    {
                        r.Decoder, F(r.TokensPerSecond, "F1"), F(r.SpeedupVsAr, "F2") + "x", F(r.TokensPerForward, "F2"), F(r.IterationsPerBlock, "F2"),
                        F(r.FastForwarded, "F2"), F(r.Stationary, "F1"), F(r.AcceptedPerStep, "F2"), F(r.ExactMatchRate * 100, "F0") + "%", F(r.MinLogitMargin, "G3"),
                    };
                    if (basePretrained is not null)
                    {
                        cells.Insert(0, r.Model);
                        cells.Add(F(r.SpeedupVsBaselineAr, "F2") + "x");
                        cells.Add(F(r.BaselineNll, "F3"));
                    }

                    table.AddRow(cells.Select(Markup.Escape).ToArray());
                }

                AnsiConsole.Write(table);
                if (outputPath is { } path)
                {
                    var report = new
                    {
                        model = modelSpec,
                        baseline = parse.GetValue(baseline),
                        parameters,
                        cores = Environment.ProcessorCount,
                        torch_threads = TorchSharp.torch.get_num_threads(),
                        requests = list.Count,
                        max_new_tokens = maxNewTokens,
                        forward_cost = points.Select(p => new { tokens = p.Tokens, median_ms = p.MedianMilliseconds, cost_vs_one = p.CostVsOne }),
                        decoders = rows,
                    };
                    File.WriteAllText(path, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
                }
            }

            return 0;
        })));
        return command;
    }

    /// <summary>A greedy request for <paramref name="prompt"/> that stops at the model's EOS ids (as an engine's default settings would).</summary>
    private static DecodeRequest Request(PretrainedModel pretrained, string prompt, int maxNewTokens) => new()
    {
        PromptIds = pretrained.Tokenizer.Encode(prompt),
        Options = new GenerationOptions { MaxNewTokens = maxNewTokens, StopTokenIds = pretrained.EosTokenIds.Distinct().ToArray() },
    };

    /// <summary>
    /// One stderr line per measured request (every twentieth of them past 40): which model, decoder and request finished,
    /// its speed, and the time left at the pace so far.
    /// </summary>
    private sealed class RequestProgress(int total, bool showModel) : IProgress<BenchmarkOutcome>
    {
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private readonly int _every = total <= 40 ? 1 : (total + 19) / 20;
        private int _done;

        public void Report(BenchmarkOutcome value)
        {
            _done++;
            if (_done % _every != 0 && _done != total)
            {
                return;
            }

            var stats = value.Result.Stats;
            double left = _clock.Elapsed.TotalSeconds / _done * (total - _done);
            string decoder = showModel ? $"{value.Model}/{value.Decoder}" : value.Decoder;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{_done}/{total}] {decoder} request {value.Request + 1}: {Counted.Of(stats.GeneratedTokens, "token")} in {stats.Elapsed.TotalSeconds:F2} s ({stats.GeneratedTokens / Math.Max(stats.Elapsed.TotalSeconds, 1e-9):F1} tokens/s); about {left:F0} s left"));
        }
    }

    private static string F(double value, string format) => double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);
}
