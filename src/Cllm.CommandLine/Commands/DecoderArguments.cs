using System.CommandLine;
using System.Linq;
using Cllm;

namespace Cllm.CommandLine.Commands;

/// <summary>The decoder options shared by generate and bench: --block-size, --window, --ngram, --guesses.</summary>
internal sealed class DecoderArguments
{
    public Option<string> BlockSize { get; } = new("--block-size") { Description = "Jacobi block size n, or auto (chosen at run time from the measured forward costs and acceptance)", DefaultValueFactory = _ => "16" };
    public Option<int> Window { get; } = new("--window") { Description = "Lookahead window W", DefaultValueFactory = _ => new LookaheadOptions().Window };
    public Option<int> NGram { get; } = new("--ngram") { Description = "Lookahead n-gram size N", DefaultValueFactory = _ => new LookaheadOptions().NGram };
    public Option<int> Guesses { get; } = new("--guesses") { Description = "Lookahead candidates G", DefaultValueFactory = _ => new LookaheadOptions().Guesses };

    public void AddTo(Command command)
    {
        command.Options.Add(BlockSize);
        command.Options.Add(Window);
        command.Options.Add(NGram);
        command.Options.Add(Guesses);
    }

    /// <summary>
    /// The decoder specs of a comma-separated list (--decoders ar,jacobi:8), trimmed; an empty entry (ar,,jacobi) or an
    /// empty list is refused naming <paramref name="flag"/>.
    /// </summary>
    public static string[] Specs(string? list, string flag)
    {
        var specs = (list ?? string.Empty).Split(',', System.StringSplitOptions.TrimEntries);
        if (specs.All(s => s.Length == 0))
        {
            throw new System.ArgumentException($"{flag} names no decoder; give a comma-separated list such as ar,jacobi,lookahead.");
        }

        if (System.Array.IndexOf(specs, string.Empty) is >= 0 and var empty)
        {
            throw new System.ArgumentException($"{flag} '{list}': entry {empty + 1} is empty; separate the decoders with single commas, e.g. ar,jacobi,lookahead.");
        }

        return specs;
    }

    /// <summary>
    /// Checks the values given for --block-size, --window, --ngram and --guesses whatever the decoder: a flag the chosen
    /// decoder does not use (ar uses none) is still refused when its value is not one it could take, never silently ignored.
    /// </summary>
    public void CheckFlags(ParseResult parse)
    {
        if (parse.GetResult(BlockSize) is { Implicit: false })
        {
            Validate(() => DecoderOptions.Parse("jacobi", parse.GetValue(BlockSize)!), BlockSize.Name);
        }

        if (parse.GetResult(Window) is { Implicit: false } || parse.GetResult(NGram) is { Implicit: false } || parse.GetResult(Guesses) is { Implicit: false })
        {
            Validate(() => new LookaheadOptions { Window = parse.GetValue(Window), NGram = parse.GetValue(NGram), Guesses = parse.GetValue(Guesses) }, null);
        }
    }

    /// <summary>Builds and validates options from flags; a parse failure gets <paramref name="flag"/> in front (range errors name their flag through <see cref="CliErrors"/>).</summary>
    private static void Validate(System.Func<DecoderOptions> create, string? flag)
    {
        DecoderOptions options;
        try
        {
            options = create();
        }
        catch (System.FormatException ex) when (flag is not null)
        {
            throw new System.FormatException($"{flag}: {ex.Message}", ex);
        }

        options.Validate();
    }

    /// <summary>
    /// Parses a decoder spec (ar, jacobi[:N|:auto], lookahead[:WxNxG], multiblock[:NxKxRxP|:auto]) given to
    /// <paramref name="flag"/> (--decoder, or bench's --decoders), with these options as defaults; errors name the flag.
    /// </summary>
    public DecoderOptions Resolve(ParseResult parse, string spec, string flag = "--decoder")
    {
        CheckFlags(parse);
        DecoderOptions options;
        try
        {
            options = DecoderOptions.Parse(spec, parse.GetValue(BlockSize)!);
        }
        catch (System.FormatException ex)
        {
            // The library's message names no flag. A jacobi spec without its own size takes it from --block-size.
            bool fromBlockSize = spec.Trim().Equals("jacobi", System.StringComparison.OrdinalIgnoreCase);
            throw new System.FormatException($"{(fromBlockSize ? BlockSize.Name : flag)}: {ex.Message}", ex);
        }

        if (spec.Contains(':', System.StringComparison.Ordinal))
        {
            // The spec carries its own sizes: a flag given as well with another value would be silently ignored.
            if (options is JacobiOptions jacobi)
            {
                string fromSpec = jacobi.AutoBlockSize ? "auto" : jacobi.BlockSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (parse.GetResult(BlockSize) is { Implicit: false } && !string.Equals(parse.GetValue(BlockSize), fromSpec, System.StringComparison.OrdinalIgnoreCase))
                {
                    throw new System.ArgumentException(
                        $"{flag} {spec} sets {fromSpec} but {BlockSize.Name} {parse.GetValue(BlockSize)} was also given; give the size once (in the decoder spec or as {BlockSize.Name}).");
                }
            }
            else if (options is LookaheadOptions lookahead)
            {
                Conflict(parse, Window, lookahead.Window, spec, flag);
                Conflict(parse, NGram, lookahead.NGram, spec, flag);
                Conflict(parse, Guesses, lookahead.Guesses, spec, flag);
            }
        }

        if (options is LookaheadOptions && !spec.Contains(':', System.StringComparison.Ordinal))
        {
            options = new LookaheadOptions { Window = parse.GetValue(Window), NGram = parse.GetValue(NGram), Guesses = parse.GetValue(Guesses) };
        }

        try
        {
            options.Validate();
        }
        catch (System.ArgumentOutOfRangeException ex) when (spec.Contains(':', System.StringComparison.Ordinal))
        {
            // The size was typed in the spec, not as a flag: name it as the spec's syntax does.
            string message = CliErrors.OneLine(ex, property => property switch
            {
                nameof(JacobiOptions.BlockSize) => "the block size N",
                nameof(LookaheadOptions.Window) => "the window W",
                nameof(LookaheadOptions.NGram) => "the n-gram size N",
                nameof(LookaheadOptions.Guesses) => "the guesses G",
                nameof(MultiblockOptions.Blocks) => "the blocks in flight K",
                nameof(MultiblockOptions.SpawnRatio) => "the spawn ratio R",
                nameof(MultiblockOptions.PoolSize) => "the pool size P",
                _ => null,
            });
            throw new System.ArgumentException($"{flag} {spec}: {message}", ex);
        }

        return options;
    }

    private static void Conflict(ParseResult parse, Option<int> option, int fromSpec, string spec, string flag)
    {
        if (parse.GetResult(option) is { Implicit: false } && parse.GetValue(option) != fromSpec)
        {
            throw new System.ArgumentException(System.FormattableString.Invariant(
                $"{flag} {spec} sets {fromSpec} but {option.Name} {parse.GetValue(option)} was also given; give the size once (in the decoder spec or as {option.Name})."));
        }
    }
}
