using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading;
using Cllm.Core;

namespace Cllm.CommandLine.Commands;

/// <summary><c>cllm generate</c>: completes prompts with any decoder and writes one JSON object per prompt.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var prompt = new Option<string?>("--prompt") { Description = "One prompt" };
        var prompts = new Option<string?>("--prompts") { Description = "JSONL file, one {\"prompt\": ...} per line" };
        var decoder = new Option<string>("--decoder") { Description = "ar | jacobi[:N] | lookahead[:WxNxG] | multiblock[:NxKxRxP|:auto]", DefaultValueFactory = _ => "ar" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens generated per prompt", DefaultValueFactory = _ => GenerationOptions.DefaultMaxNewTokens };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0 };
        var topK = new Option<int>("--top-k") { Description = "0 = off", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "1 = off", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<int?>("--seed") { Description = "Sampling seed" };
        var stopIds = new Option<string?>("--stop-token-ids") { Description = "Comma-separated ids that also end generation, e.g. 1,2" };
        var output = new OutputArguments(OutputKind.File, "Write JSONL here instead of stdout; a file that already holds rows is refused unless --overwrite", required: false, overwrite: true);
        var chatTemplate = new Option<string>("--chat-template")
        {
            Description = "none (the prompt as is) | auto (the model's tokenizer_config.json chat_template) | llama2 | llama3 | chatml | vicuna | instruction: the prompt is the user turn",
            DefaultValueFactory = _ => "none",
        };
        var threads = new ThreadArguments();
        var decoderArgs = new DecoderArguments();
        var placement = new PlacementArguments();
        var command = new Command("generate", "Generate completions for prompts; JSONL out (prompt, prompt_ids, output_ids, text, finish_reason, forward_passes, elapsed_ms, and decoder figures).")
        {
            prompt, prompts, decoder, maxNew, temperature, topK, topP, seed, stopIds, chatTemplate,
        };
        model.AddTo(command);
        output.AddTo(command);
        threads.AddTo(command);
        decoderArgs.AddTo(command);
        placement.AddTo(command, quantize: true);
        command.SetAction((parse, cancellationToken) => System.Threading.Tasks.Task.FromResult(CliErrors.Run(parse, () =>
        {
            int? threadCount = threads.Apply(parse);
            var rows = Prompts(parse.GetValue(prompt), parse.GetValue(prompts));
            var decoderOptions = decoderArgs.Resolve(parse, parse.GetValue(decoder)!);
            var settings = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxNew),
                Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP),
                Seed = parse.GetValue(seed),
                StopTokenIds = ParseIds(parse.GetValue(stopIds)),
            };
            settings.Validate();                                                          // the library's check; errors name the flags (CliErrors)
            var path = output.Check(parse);                                                // before the model loads
            string folder = model.Folder(parse);
            var builder = placement.ApplyTo(parse, CllmBuilder.FromCheckpoint(folder).UseDecoder(decoderOptions), folder);
            if (threadCount is { } count)
            {
                builder.WithThreads(count);
            }

            string templateName = parse.GetValue(chatTemplate)!;
            var templateKind = ParseTemplate(templateName);
            using var engine = builder.Build();
            if (engine.Model.Quantization != WeightQuantization.None)
            {
                Console.Error.WriteLine($"quantized: {engine.Model.QuantizationSummary()}");
            }
            ChatTemplate? template = templateKind switch
            {
                null => engine.ChatTemplate is { Kind: not ChatTemplateKind.None } found ? found : null,
                ChatTemplateKind.None => null,
                { } kind => ChatTemplate.Create(kind, engine.Tokenizer),
            };
            using var stream = path is null ? Console.OpenStandardOutput() : File.Create(path);
            int failed = 0;
            for (int i = 0; i < rows.Count; i++)
            {
                var (where, text) = rows[i];

                // A prompt the model cannot take (longer than its context, say) fails its own row only. The row is
                // checked and resolved once; that resolved request is what runs.
                var request = template is null ? engine.Compose(engine.Tokenizer.Encode(text), settings) : ChatRequest(engine, template, text, settings);
                ResolvedRequest resolved;
                try
                {
                    resolved = engine.Resolve(request);
                }
                catch (ArgumentException ex)
                {
                    failed++;
                    string message = CliErrors.OneLine(ex);
                    WriteErrorLine(stream, text, request.PromptIds, message);
                    Console.Error.WriteLine($"error: {where}: {message}");
                    continue;
                }

                var response = engine.Complete(resolved, settings.Decoder, cancellationToken);
                WriteLine(stream, text, response, decoderOptions);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{i + 1}/{rows.Count}] {Counted.Of(response.Stats.GeneratedTokens, "token")}, {Counted.Of(response.Stats.ForwardPasses, "forward")} ({response.Stats.TokensPerForward:F2} tokens/forward), {response.Finish.ToString().ToLowerInvariant()}, {response.Stats.Elapsed.TotalMilliseconds:F0} ms"));
            }

            if (failed > 0 && rows.Count > 1)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"error: {failed} of {rows.Count} prompts failed (rows with finish_reason \"error\"); the other {rows.Count - failed} {(rows.Count - failed == 1 ? "was" : "were")} generated."));
            }

            return failed > 0 ? 1 : 0;
        })));
        return command;
    }

    /// <summary>The named template kind; null for auto. Unknown names fail naming the flag.</summary>
    private static ChatTemplateKind? ParseTemplate(string name) => name.ToLowerInvariant() switch
    {
        "auto" => null,
        "none" => ChatTemplateKind.None,
        "llama2" => ChatTemplateKind.Llama2,
        "llama3" => ChatTemplateKind.Llama3,
        "chatml" => ChatTemplateKind.ChatML,
        "vicuna" => ChatTemplateKind.Vicuna,
        "instruction" => ChatTemplateKind.Instruction,
        _ => throw new ArgumentException($"--chat-template: '{name}' is not one of auto, none, llama2, llama3, chatml, vicuna, instruction."),
    };

    /// <summary>The prompt as one user turn in <paramref name="template"/>; the template's end-of-turn ids also stop.</summary>
    private static DecodeRequest ChatRequest(CllmEngine engine, ChatTemplate template, string prompt, GenerationOptions settings)
        => engine.Compose(template.Encode(new[] { ("user", prompt) }), settings with { StopTokenIds = (settings.StopTokenIds ?? Array.Empty<int>()).Concat(template.StopTokenIds).ToArray() });

    /// <summary>The prompts with where each comes from ("--prompt" or "file:line"), for row errors.</summary>
    private static List<(string Where, string Text)> Prompts(string? prompt, string? file) => (prompt, file) switch
    {
        (not null, null) => new List<(string, string)> { ("--prompt", prompt) },
        (null, not null) => PromptFile.ReadNumbered(file).Select(p => ($"{file}:{p.Line}", p.Text)).ToList(),
        _ => throw new ArgumentException("give exactly one of --prompt and --prompts."),
    };

    private static int[] ParseIds(string? text) => string.IsNullOrWhiteSpace(text)
        ? Array.Empty<int>()
        : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id) && id >= 0 ? id : throw new FormatException($"--stop-token-ids: '{s}' is not a token id."))
            .ToArray();

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static void WriteLine(Stream stream, string prompt, DecodeResult response, DecoderOptions decoder)
    {
        using (var json = new Utf8JsonWriter(stream, WriterOptions))
        {
            var s = response.Stats;
            json.WriteStartObject();
            json.WriteString("prompt", prompt);
            WriteIds(json, "prompt_ids", response.PromptIds);
            WriteIds(json, "output_ids", response.OutputIds);
            json.WriteString("text", response.Text);
            json.WriteString("finish_reason", response.Finish.ToString().ToLowerInvariant());
            json.WriteNumber("forward_passes", s.ForwardPasses);
            json.WriteNumber("elapsed_ms", Math.Round(s.Elapsed.TotalMilliseconds, 2));
            json.WriteNumber("tokens_per_forward", Math.Round(s.TokensPerForward, 4));
            if (!double.IsNaN(s.MinLogitMargin) && !double.IsInfinity(s.MinLogitMargin))
            {
                json.WriteNumber("min_logit_margin", Math.Round(s.MinLogitMargin, 6));
            }

            if (decoder is JacobiOptions)
            {
                WriteIds(json, "iterations", s.BlockIterations);
                json.WriteNumber("iterations_per_block", Math.Round(s.IterationsPerBlock, 4));
                json.WriteNumber("fast_forwarded", Math.Round(s.FastForwarded, 4));
                json.WriteNumber("stationary", s.Stationary);
            }
            else if (decoder is LookaheadOptions or MultiblockOptions)
            {
                json.WriteNumber("accepted_per_step", Math.Round(s.AcceptedPerStep, 4));
            }

            json.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
        stream.Flush();
    }

    /// <summary>The row of a prompt that was not generated: finish_reason "error" and the reason.</summary>
    private static void WriteErrorLine(Stream stream, string prompt, IReadOnlyList<int> promptIds, string error)
    {
        using (var json = new Utf8JsonWriter(stream, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("prompt", prompt);
            WriteIds(json, "prompt_ids", promptIds);
            WriteIds(json, "output_ids", Array.Empty<int>());
            json.WriteString("text", string.Empty);
            json.WriteString("finish_reason", "error");
            json.WriteString("error", error);
            json.WriteNumber("forward_passes", 0);
            json.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
        stream.Flush();
    }

    private static void WriteIds(Utf8JsonWriter json, string name, IReadOnlyList<int> ids)
    {
        json.WriteStartArray(name);
        foreach (var id in ids)
        {
            json.WriteNumberValue(id);
        }

        json.WriteEndArray();
    }
}
