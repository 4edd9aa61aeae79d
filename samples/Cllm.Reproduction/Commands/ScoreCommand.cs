using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using Cllm.Reproduction.Data;
using Cllm.Reproduction.Evaluation;
using Cllm.Reproduction.Pipeline;
using Cllm.Reproduction.Sql;
using Cllm.Reproduction.Training;
using Cllm.Core;
using TorchSharp;

namespace Cllm.Reproduction.Commands;

/// <summary><c>score</c>: decodes a split with one or more decoders and prints execution accuracy and tokens per forward.</summary>
internal static class ScoreCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder", Required = true };
        var data = new Option<string>("--data") { Description = "Data folder written by 'data'", Required = true };
        var split = new Option<string>("--split") { Description = "train, dev or test", DefaultValueFactory = _ => "dev" };
        var count = new Option<int>("--count") { DefaultValueFactory = _ => 500 };
        var decoders = new Option<string>("--decoders") { DefaultValueFactory = _ => "ar,jacobi:16" };
        var quantize = new Option<string>("--quantize") { Description = "none | int8 | int4 | int4a8: quantize the projections as they load", DefaultValueFactory = _ => "none" };
        var command = new Command("score", "Execution accuracy and tokens per forward of a model on a split.") { model, data, split, count, decoders, quantize };
        command.SetAction(parse =>
        {
            var quantization = parse.GetValue(quantize)!.Trim().ToUpperInvariant() switch
            {
                "NONE" => WeightQuantization.None,
                "INT8" => WeightQuantization.Int8,
                "INT4" => WeightQuantization.Int4,
                "INT4A8" => WeightQuantization.Int4A8,
                var other => throw new ArgumentException($"--quantize: '{other}' is not one of none, int8, int4, int4a8."),
            };
            torch.set_num_threads(1);
            string dir = parse.GetValue(data)!;
            var encoder = new SqlSequenceEncoder(CllmTokenizer.FromDirectory(Path.Combine(dir, "tokenizer")));
            var tasks = SqlTaskJsonl.Read(Path.Combine(dir, $"sql-{parse.GetValue(split)}.jsonl")).Take(parse.GetValue(count)).ToList();
            using var llm = ModelFolder.Load(parse.GetValue(model)!, quantization);
            using var scorer = new ExecutionScorer();
            var evaluator = new SqlEvaluator(encoder, scorer);
            IReadOnlyList<int>[]? firstOutputs = null;
            foreach (var spec in parse.GetValue(decoders)!.Split(','))
            {
                var run = evaluator.Run(llm, DecoderOptions.Parse(spec), tasks);
                var outputs = run.Results.Select(r => r.OutputIds).ToArray();
                firstOutputs ??= outputs;
                int same = outputs.Zip(firstOutputs).Count(pair => pair.First.SequenceEqual(pair.Second));
                double tpf = run.Results.Sum(r => (double)r.Stats.GeneratedTokens) / run.Results.Sum(r => r.Stats.ForwardPasses);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{spec}: execution {100 * run.Score.ExecutionAccuracy:F1}% exact {100 * run.Score.ExactMatchAccuracy:F1}% ({tasks.Count} tasks), {tpf:F2} tokens/forward, outputs equal to the first decoder's {same}/{tasks.Count}"));
            }

            return 0;
        });
        return command;
    }
}
