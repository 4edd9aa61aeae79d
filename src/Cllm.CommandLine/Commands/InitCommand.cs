using System;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Cllm.Core;

namespace Cllm.CommandLine.Commands;

/// <summary><c>cllm dev init</c>: writes a random-weight checkpoint folder of a named shape, for memory and speed checks.</summary>
internal static class InitCommand
{
    public static Command Create()
    {
        var shape = new Option<string>("--shape") { Description = $"Model shape: {RandomCheckpoint.ShapeNames}", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "Stored dtype: float32 | float16 | bfloat16", DefaultValueFactory = _ => "float32" };
        var output = new OutputArguments(OutputKind.NewFolder, "Folder to write (config.json, model.safetensors, tokenizer); must be empty or absent");
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights", DefaultValueFactory = _ => 0 };
        var command = new Command("init", "Write a random-weight checkpoint folder (e.g. --shape tinyllama-1.1b) one tensor at a time, with a synthetic byte-level tokenizer; the output text is meaningless, the memory and speed figures are real.")
        {
            shape, dtype, seed,
        };
        output.AddTo(command);
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var config = RandomCheckpoint.Shape(parse.GetValue(shape)!);
            var type = CheckpointDType.Parse(parse.GetValue(dtype))
                ?? throw new ArgumentException($"--dtype: '{parse.GetValue(dtype)}' is not one of {CheckpointDType.Names}.");
            var folder = output.Check(parse)!;

            var clock = Stopwatch.StartNew();
            OutputPaths.WriteFolder(folder, partial => RandomCheckpoint.Write(config, type, partial, parse.GetValue(seed)));
            long bytes = new FileInfo(Path.Combine(folder, HfModelDirectory.SingleWeightsFileName)).Length;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {folder}: {type}, {ByteSize.Format(bytes)} of weights in {clock.Elapsed.TotalSeconds:F1} s"));
            return 0;
        }));
        return command;
    }
}
