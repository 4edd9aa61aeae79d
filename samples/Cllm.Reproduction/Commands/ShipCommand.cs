using System;
using System.CommandLine;
using System.IO;
using Cllm.Reproduction.Pipeline;
using Cllm.Reproduction.Shipping;
using TorchSharp;

namespace Cllm.Reproduction.Commands;

/// <summary><c>ship</c>: stores a finished pipeline's models in half precision under a models folder and verifies them.</summary>
internal static class ShipCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "Pipeline output folder (after 'reproduce')", Required = true };
        var to = new Option<string>("--to") { Description = "Models folder", DefaultValueFactory = _ => Path.Combine("samples", "models") };
        var dtype = new Option<string>("--dtype") { Description = "float16 or bfloat16", DefaultValueFactory = _ => "float16" };
        var block = new Option<int?>("--block-size") { Description = "Jacobi block size to verify and recommend (default: the evaluation's choice)" };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 1 };
        var command = new Command("ship", "Store the base model and the CLLM in half precision and check greedy outputs after reloading.")
        {
            from, to, dtype, block, threads,
        };
        command.SetAction(parse =>
        {
            torch.set_num_threads(parse.GetValue(threads));
            string pipeline = parse.GetValue(from)!;
            var type = parse.GetValue(dtype) switch
            {
                "float16" or "fp16" => torch.ScalarType.Float16,
                "bfloat16" or "bf16" => torch.ScalarType.BFloat16,
                var other => throw new FormatException($"--dtype: '{other}' is not float16 or bfloat16."),
            };
            int blockSize = parse.GetValue(block)
                ?? ReportJson.Read<EvaluationReport>(Path.Combine(pipeline, "eval", "results.json")).ChosenBlockSize;
            ModelShipper.Ship(pipeline, parse.GetValue(to)!, type, blockSize, Console.Out);
            return 0;
        });
        return command;
    }
}
