using System;
using System.Globalization;
using Cllm.Core;

namespace Cllm;

/// <summary>
/// Which decoder to run and its settings: one of <see cref="AutoregressiveOptions"/>, <see cref="JacobiOptions"/>,
/// <see cref="LookaheadOptions"/> or <see cref="MultiblockOptions"/> (a closed set: the records below are the only ones).
/// Values compare by their settings, so equal options name the same decoder; <see cref="CreateDecoder"/> builds it over a model.
/// </summary>
public abstract record DecoderOptions
{
    /// <summary>Only the decoders of this assembly derive from it.</summary>
    private protected DecoderOptions()
    {
    }

    /// <summary>Autoregressive decoding.</summary>
    public static DecoderOptions Autoregressive { get; } = new AutoregressiveOptions();

    /// <summary>A short label: ar, jacobi:16, jacobi:auto, lookahead:5x4x5, multiblock:16x2x0.85x4.</summary>
    public abstract string Label { get; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> (naming the property) for settings out of range.</summary>
    public abstract void Validate();

    /// <summary>
    /// Builds the decoder over <paramref name="model"/>. A Jacobi or multiblock decoder's requests share a first-token
    /// memory, so that a greedy request's prefill can carry its first block (see <see cref="JacobiProposer"/>).
    /// </summary>
    /// <exception cref="ArgumentException">One forward of these settings would not fit the model's context beside a prompt.</exception>
    public IDecoder CreateDecoder(LlamaForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckFits(model.Config);
        return Build(model);
    }

    /// <summary>Validates the settings and that one forward fits a model of <paramref name="config"/> beside a prompt.</summary>
    /// <exception cref="ArgumentException">It does not.</exception>
    internal void CheckFits(LlamaConfig config)
    {
        Validate();
        int context = config.MaxPositionEmbeddings;
        if (WidestForward >= context)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{Label} verifies up to {WidestForward} tokens per forward, which beside a prompt do not fit the model's context of {context} positions (at most {context - 1})."));
        }
    }

    /// <summary>
    /// Tokens one forward verifies at most: the pending token and the largest draft (1 where sizes are chosen at run time
    /// to fit), in 64 bits so that no setting wraps around past the check. Every one of them takes a cache slot, so the
    /// limit counts tokens, not the depth of a tree draft.
    /// </summary>
    private protected abstract long WidestForward { get; }

    /// <summary>The decoder of these settings (validated); not overridable outside this assembly, which closes the set.</summary>
    private protected abstract DraftVerifyDecoder Build(LlamaForCausalLM model);

    /// <summary>
    /// Parses "ar", "jacobi", "jacobi:N", "jacobi:auto", "lookahead", "lookahead:WxNxG", "multiblock",
    /// "multiblock:auto" or "multiblock:NxKxRxP" (trailing parts may be left out); <paramref name="blockSize"/>
    /// is the Jacobi block size when none is given.
    /// </summary>
    /// <remarks>Sizes are not range-checked here (jacobi:-3 parses): <see cref="Validate"/> and <see cref="CreateDecoder"/> check them.</remarks>
    /// <exception cref="FormatException">The spec is not one of these; the message quotes the spec and says what is wrong.</exception>
    public static DecoderOptions Parse(string spec, int blockSize = 16)
        => Parse(spec, blockSize.ToString(CultureInfo.InvariantCulture));

    /// <summary>As <see cref="Parse(string, int)"/>, with a default block size that may be "auto".</summary>
    public static DecoderOptions Parse(string spec, string blockSize)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(blockSize);
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        var parts = spec.Trim().ToLowerInvariant().Split(':', 2);
        string arg = parts.Length > 1 ? parts[1] : string.Empty;
        switch (parts[0])
        {
            case "ar" or "autoregressive" when arg.Length == 0:
                return Autoregressive;
            case "jacobi":
                string size = arg.Length == 0 ? blockSize.Trim().ToLowerInvariant() : arg;
                return size == "auto"
                    ? new JacobiOptions { AutoBlockSize = true }
                    : new JacobiOptions { BlockSize = arg.Length > 0 ? ParseInt(size, spec) : ParseBlockSize(size) };
            case "lookahead":
                if (arg.Length == 0)
                {
                    return new LookaheadOptions();
                }

                var wng = arg.Split('x');
                if (wng.Length != 3)
                {
                    throw new FormatException($"'{spec}': lookahead takes W x N x G, e.g. lookahead:5x4x5.");
                }

                return new LookaheadOptions { Window = ParseInt(wng[0], spec), NGram = ParseInt(wng[1], spec), Guesses = ParseInt(wng[2], spec) };
            case "multiblock":
                return ParseMultiblock(arg, spec);
            default:
                throw new FormatException($"unknown decoder '{spec}' (known: ar, jacobi[:N|:auto], lookahead[:WxNxG], multiblock[:NxKxRxP|:auto]).");
        }
    }

    /// <summary>"" (the defaults), "auto" or N[xK[xR[xP]]].</summary>
    private static MultiblockOptions ParseMultiblock(string arg, string spec)
    {
        var defaults = new MultiblockOptions();
        if (arg.Length == 0)
        {
            return defaults;
        }

        if (arg == "auto")
        {
            return defaults with { Auto = true };
        }

        var parts = arg.Split('x');
        if (parts.Length > 4)
        {
            throw new FormatException($"'{spec}': multiblock takes N x K x R x P (block size, blocks in flight, spawn ratio, pool size), e.g. multiblock:16x2x0.85x4, or auto.");
        }

        return new MultiblockOptions
        {
            BlockSize = ParseInt(parts[0], spec),
            Blocks = parts.Length > 1 ? ParseInt(parts[1], spec) : defaults.Blocks,
            SpawnRatio = parts.Length > 2 ? ParseRatio(parts[2], spec) : defaults.SpawnRatio,
            PoolSize = parts.Length > 3 ? ParseInt(parts[3], spec) : defaults.PoolSize,
        };
    }

    private static double ParseRatio(string text, string spec)
        => double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)
            ? value
            : throw new FormatException($"'{spec}': the spawn ratio R '{text}' is not a number such as 0.85.");

    /// <summary>The default block size (the spec gave none): a whole number or auto.</summary>
    private static int ParseBlockSize(string text)
        => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value)   // the range is Validate's
            ? value
            : throw new FormatException($"the block size '{text}' is neither a whole number nor auto.");

    private static int ParseInt(string text, string spec)
        => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value)   // the range is Validate's
            ? value
            : throw new FormatException($"'{spec}': '{text}' is not a whole number.");
}
