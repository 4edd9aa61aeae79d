using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using Cllm.Core;
using Cllm.Reproduction.Data;
using Cllm.Reproduction.Evaluation;
using Cllm.Reproduction.Pipeline;
using Cllm.Reproduction.Sql;
using Cllm.Reproduction.Training;
using Cllm.Training;
using TorchSharp;

namespace Cllm.Reproduction.Commands;

/// <summary>
/// <c>pretrain</c>: trains a base model from scratch on a data folder with the AR loss and evaluates it on the dev
/// split as it goes (the learnability probe and the knob sweep behind the pipeline's defaults).
/// </summary>
internal static class PretrainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Data folder written by 'data'", Required = true };
        var shape = new Option<string>("--shape") { Description = "DIMxLAYERSxHEADSxFFN", DefaultValueFactory = _ => ModelShape.Default.ToString() };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 600 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 32 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 2e-3 };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 50 };
        var fullLoss = new Option<bool>("--full-loss") { Description = "Loss on prompt tokens too (default: answer only)" };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => 200 };
        var evalCount = new Option<int>("--eval-count") { DefaultValueFactory = _ => 100 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var save = new Option<string?>("--save") { Description = "Write the trained model here (HF folder)" };
        var command = new Command("pretrain", "Pretrain a base model with the AR loss and track dev accuracy.")
        {
            data, shape, steps, batch, lr, warmup, fullLoss, evalEvery, evalCount, threads, seed, save,
        };
        command.SetAction(parse =>
        {
            torch.set_num_threads(parse.GetValue(threads));
            string dir = parse.GetValue(data)!;
            var tokenizer = CllmTokenizer.FromDirectory(Path.Combine(dir, "tokenizer"));
            var encoder = new SqlSequenceEncoder(tokenizer);
            var train = encoder.EncodeAll(SqlTaskJsonl.Read(Path.Combine(dir, "sql-train.jsonl")));
            var dev = SqlTaskJsonl.Read(Path.Combine(dir, "sql-dev.jsonl")).Take(parse.GetValue(evalCount)).ToList();
            var modelShape = ModelShape.Parse(parse.GetValue(shape)!);
            var config = modelShape.ToConfig(tokenizer.VocabSize, encoder.Bos, encoder.Eos);
            using var model = ModelShape.CreateModel(config, parse.GetValue(seed));
            long parameters = model.ParameterCount;
            Console.WriteLine($"model {modelShape}: {parameters:N0} parameters; {train.Count} training sequences");
            var options = new PretrainOptions
            {
                Steps = parse.GetValue(steps),
                BatchSize = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                WarmupSteps = parse.GetValue(warmup),
                AnswerOnly = !parse.GetValue(fullLoss),
                Seed = parse.GetValue(seed),
            };
            using var scorer = new ExecutionScorer();
            var evaluator = new SqlEvaluator(encoder, scorer);
            int every = parse.GetValue(evalEvery);
            var sequences = train.Select(q => new CausalLmSequence(q.Ids, q.AnswerStart)).ToList();
            new CausalLmTrainer(model, options.ToTrainingOptions()).Train(sequences, new SyncProgress<TrainingProgress>(step =>
            {
                if (step.Step % 20 == 0 || step.Step == 1)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step.Step,5} loss {step.Loss.Autoregressive:F4} lr {step.LearningRate:E2} {step.Elapsed.TotalSeconds,7:F1}s"));
                }

                if (step.Step % every == 0 || step.Step == options.Steps)
                {
                    model.eval();
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    var run = evaluator.Run(model, DecoderOptions.Autoregressive, dev);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  dev@{step.Step}: execution {100 * run.Score.ExecutionAccuracy:F1}% exact {100 * run.Score.ExactMatchAccuracy:F1}% ({dev.Count} tasks, {clock.Elapsed.TotalSeconds:F1}s)"));
                    for (int i = 0; i < 2; i++)
                    {
                        Console.WriteLine($"    gold: {dev[i].Sql}\n    pred: {run.Sql[i]}");
                    }

                    model.train();                                                        // back to training for the next step
                }
            }));
            model.eval();
            if (parse.GetValue(save) is { } target)
            {
                model.Save(target, Path.Combine(dir, "tokenizer"));
                Console.WriteLine($"saved {target}");
            }

            return 0;
        });
        return command;
    }
}
