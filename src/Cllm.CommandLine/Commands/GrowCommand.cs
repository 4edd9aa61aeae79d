using System;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Cllm.Core;

namespace Cllm.CommandLine.Commands;

/// <summary>
/// <c>cllm grow</c>: embeds a trained model in a larger shape that computes the same logits (see
/// <see cref="ModelGrowth"/>), so the small model's tokens can be timed at the cost of a 1B or 7B shape.
/// </summary>
internal static class GrowCommand
{
    public static Command Create()
    {
        var model = new ModelArguments("The trained (small) model to grow");
        var shape = new Option<string>("--shape") { Description = $"Target shape: {ModelGrowth.ShapeNames}; heads keep the source's head size", Required = true };
        var output = new OutputArguments(OutputKind.NewFolder, "Folder to write (config.json, model.safetensors, tokenizer); must be empty or absent");
        var dtype = new Option<string>("--dtype") { Description = "Stored dtype: float32 | float16 | bfloat16", DefaultValueFactory = _ => "float32" };
        var command = new Command("grow", "Write a function-preserving growth of a model at a larger shape (zero-padded heads, MLP units and layers, rescaled norms): the same greedy tokens at that shape's compute and memory cost, one tensor at a time.")
        {
            shape, dtype,
        };
        model.AddTo(command);
        output.AddTo(command);
        command.SetAction(parse => CliErrors.Run(parse, () =>
        {
            var type = CheckpointDType.Parse(parse.GetValue(dtype))
                ?? throw new ArgumentException($"--dtype: '{parse.GetValue(dtype)}' is not one of {CheckpointDType.Names}.");
            var folder = output.Check(parse)!;
            string source = model.Folder(parse);
            var target = ModelGrowth.TargetConfig(HfModelDirectory.Open(source).ReadConfig(), parse.GetValue(shape)!);
            var clock = Stopwatch.StartNew();
            OutputPaths.WriteFolder(folder, partial => ModelGrowth.Write(source, target, partial, type));
            long bytes = new FileInfo(Path.Combine(folder, HfModelDirectory.SingleWeightsFileName)).Length;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {folder}: hidden {target.HiddenSize}, {Counted.Of(target.NumHiddenLayers, "layer")}, {Counted.Of(target.NumAttentionHeads, "head")} of {target.HeadDim} ({target.NumKeyValueHeads} kv), intermediate {target.IntermediateSize}, vocab {target.VocabSize}; {type}, {ByteSize.Format(bytes)} of weights in {clock.Elapsed.TotalSeconds:F1} s"));
            return 0;
        }));
        return command;
    }
}
