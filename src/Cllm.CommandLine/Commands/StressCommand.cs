using System;
using System.CommandLine;
using System.Globalization;
using System.Linq;

namespace Cllm.CommandLine.Commands;

/// <summary><c>cllm dev stress</c>: decodes on several threads and serves concurrent chat requests under GC pressure; any failure exits 1.</summary>
internal static class StressCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var prompts = new Option<string?>("--prompts") { Description = "JSONL file, one {\"prompt\": ...} per line (default: four short prompts)" };
        var decoders = new Option<string>("--decoders") { Description = "Comma-separated decoders to run at once", DefaultValueFactory = _ => "ar,jacobi:16,lookahead" };
        var workers = new Option<int>("--workers") { Description = "Decoding threads", DefaultValueFactory = _ => 3 };
        var chats = new Option<int>("--chat-requests") { Description = "Concurrent IChatClient requests", DefaultValueFactory = _ => 24 };
        var seconds = new Option<double>("--seconds") { Description = "How long the decoding threads run", DefaultValueFactory = _ => 30 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens per request", DefaultValueFactory = _ => 32 };
        var threads = new ThreadArguments();
        var placement = new PlacementArguments();
        var command = new Command("stress", "Decode on several threads and serve concurrent chat requests while a thread churns managed garbage; every output must equal the sequential one (exit 1 otherwise).")
        {
            prompts, decoders, workers, chats, seconds, maxNew,
        };
        model.AddTo(command);
        threads.AddTo(command);
        placement.AddTo(command, quantize: true);
        command.SetAction((parse, cancellationToken) => System.Threading.Tasks.Task.FromResult(CliErrors.Run(parse, () =>
        {
            int? threadCount = threads.Apply(parse);
            ArgumentOutOfRangeException.ThrowIfLessThan(parse.GetValue(workers), 1, "--workers");
            ArgumentOutOfRangeException.ThrowIfNegative(parse.GetValue(chats), "--chat-requests");
            ArgumentOutOfRangeException.ThrowIfLessThan(parse.GetValue(maxNew), 1, "--max-new-tokens");
            double duration = parse.GetValue(seconds);
            if (!double.IsFinite(duration) || duration <= 0)
            {
                throw new ArgumentException($"--seconds must be a positive number (got {duration.ToString(CultureInfo.InvariantCulture)}).");
            }

            var decoderOptions = DecoderArguments.Specs(parse.GetValue(decoders), decoders.Name)
                .Select(spec =>
                {
                    try
                    {
                        var o = DecoderOptions.Parse(spec);
                        o.Validate();
                        return o;
                    }
                    catch (Exception ex) when (ex is FormatException or ArgumentException)
                    {
                        throw new ArgumentException($"{decoders.Name}: {CliErrors.OneLine(ex)}", ex);
                    }
                }).ToArray();

            var texts = parse.GetValue(prompts) is { } file
                ? PromptFile.Read(file)
                : new() { "Once upon a time", "The little dog", "One day, a girl named Sue", "Tom had a red ball" };
            string folder = model.Folder(parse);
            var builder = placement.ApplyTo(parse, CllmBuilder.FromCheckpoint(folder), folder);
            if (threadCount is { } count)
            {
                builder.WithThreads(count);
            }

            using var engine = builder.Build();
            var outcome = new StressRun
            {
                Engine = engine,
                Prompts = texts,
                Decoders = decoderOptions,
                Workers = parse.GetValue(workers),
                ChatRequests = parse.GetValue(chats),
                MaxNewTokens = parse.GetValue(maxNew),
                Duration = TimeSpan.FromSeconds(duration),
            }.Run(cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Counted.Of(outcome.Decodes, "decode")} on {Counted.Of(parse.GetValue(workers), "thread")}, {Counted.Of(outcome.ChatResponses, "concurrent chat response")}, {Counted.Of(outcome.GarbageCollections, "garbage collection")}: {Counted.Of(outcome.Failures.Count, "failure")}"));
            foreach (var failure in outcome.Failures.Take(10))
            {
                Console.Error.WriteLine($"failure: {failure}");
            }

            return outcome.Failures.Count == 0 ? 0 : 1;
        })));
        return command;
    }
}
