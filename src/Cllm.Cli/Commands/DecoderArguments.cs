using System.CommandLine;
using Cllm.Lookahead;

namespace Cllm.Cli.Commands;

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

    /// <summary>Parses a decoder spec (ar, jacobi[:N|:auto], lookahead[:WxNxG]) with these options as defaults.</summary>
    public DecoderOptions Resolve(ParseResult parse, string spec)
    {
        var options = DecoderOptions.Parse(spec, parse.GetValue(BlockSize)!);
        if (options.Strategy == DecodingStrategy.Lookahead && !spec.Contains(':', System.StringComparison.Ordinal))
        {
            options = options with { Lookahead = new LookaheadOptions { Window = parse.GetValue(Window), NGram = parse.GetValue(NGram), Guesses = parse.GetValue(Guesses) } };
        }

        options.Validate();
        return options;
    }
}
