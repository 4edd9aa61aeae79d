using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using Cllm.Core;
using Cllm.Tools;

namespace Cllm.CommandLine.Commands;

/// <summary><c>cllm export</c>: writes a model folder as a GGUF file that llama.cpp (and LLamaSharp) load.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var model = new ModelArguments("The model to export (tokenizer.model or tokenizer.json)");
        var output = new OutputArguments(OutputKind.File, "The .gguf file to write (an existing file is replaced)");
        var format = new Option<string>("--format") { Description = "Output format: gguf", DefaultValueFactory = _ => "gguf" };
        var type = new Option<string>("--type") { Description = "Weight storage: f32 | f16 | q8_0 (norms stay f32)", DefaultValueFactory = _ => "f32" };
        var command = new Command("export", "Export a model as GGUF (llama.cpp's LLAMA layout: tensor names, interleaved q/k RoPE rows, llama.* and tokenizer.ggml.* metadata).")
        {
            format, type,
        };
        model.AddTo(command);
        output.AddTo(command);
        command.SetAction((parse, cancellationToken) => System.Threading.Tasks.Task.FromResult(CliErrors.Run(parse, () =>
        {
            if (!string.Equals(parse.GetValue(format), "gguf", StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"--format: '{parse.GetValue(format)}' is not supported (supported: gguf).");
            }

            var fileType = parse.GetValue(type)!.ToLowerInvariant() switch
            {
                "f32" => GgufFileType.F32,
                "f16" => GgufFileType.F16,
                "q8_0" => GgufFileType.Q8_0,
                var other => throw new ArgumentException($"--type: '{other}' is not one of f32, f16, q8_0."),
            };
            var path = output.Check(parse)!;
            GgufExporter.Export(model.Folder(parse), path, fileType);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {path} ({new FileInfo(path).Length / 1048576.0:F1} MiB, {fileType.ToString().ToLowerInvariant()})"));
            return 0;
        })));
        return command;
    }
}
