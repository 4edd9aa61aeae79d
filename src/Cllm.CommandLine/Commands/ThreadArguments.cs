using System;
using System.CommandLine;
using System.Globalization;
using Cllm.Core;
using TorchSharp;

namespace Cllm.CommandLine.Commands;

/// <summary>
/// --threads, libtorch's intra-op threads (process-wide): refused below 1 while parsing (one line naming --threads, before
/// the command runs) and set once, by <see cref="Apply"/>, before anything is loaded.
/// </summary>
internal sealed class ThreadArguments
{
    /// <summary>The default of the commands that decode: the model loader's.</summary>
    public static readonly string LoaderDefault = string.Create(CultureInfo.InvariantCulture,
        $"1 on the CPU for models under {PretrainedModel.SingleThreadBelowParameters / 1_000_000}M parameters, whose token-by-token forwards are dominated by per-op overhead that a second thread only adds to; else libtorch's choice");

    /// <param name="defaultBehaviour">What happens without --threads, and why (<see cref="LoaderDefault"/> unless the command has its own reason).</param>
    public ThreadArguments(string? defaultBehaviour = null)
    {
        Threads = new Option<int?>("--threads")
        {
            Description = $"libtorch intra-op threads, at least 1 (default: {defaultBehaviour ?? LoaderDefault}). 1 is best for tiny models or a busy machine",
        };
        Threads.Validators.Add(result =>
        {
            // The token, not GetValueOrDefault: a value that is not a whole number is the parser's own error ("is not a whole number").
            if (result.Tokens is [{ Value: var text }] && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int count) && count < 1)
            {
                result.AddError($"{Threads.Name}: '{text}' is less than 1");
            }
        });
    }

    public Option<int?> Threads { get; }

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(Threads);
    }

    /// <summary>
    /// Sets libtorch's intra-op threads when --threads was given and returns the count; null leaves the command's default.
    /// Hand the count on to the loader (<see cref="PretrainedModelOptions.Threads"/>, <c>CllmBuilder.WithThreads</c>) so
    /// its small-model default does not replace it.
    /// </summary>
    public int? Apply(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var count = parse.GetValue(Threads);
        if (count is { } threads)
        {
            torch.set_num_threads(threads);
        }

        return count;
    }

    /// <summary>
    /// The loader's default for a model built without it (bench's random:… models): without --threads, one thread for a
    /// CPU model under <see cref="PretrainedModel.SingleThreadBelowParameters"/> parameters, as a loaded one gets.
    /// </summary>
    public static void DefaultFor(LlamaForCausalLM model, int? requested)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (requested is null && model.ParameterCount < PretrainedModel.SingleThreadBelowParameters && model.Device.type == DeviceType.CPU)
        {
            torch.set_num_threads(1);
        }
    }
}
