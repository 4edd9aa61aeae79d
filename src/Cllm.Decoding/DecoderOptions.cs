using System;
using System.Collections.Generic;
using System.Globalization;
using Cllm.Core;

namespace Cllm;

/// <summary>Which decoder to run and its settings; <see cref="CreateDecoder"/> builds it over a model.</summary>
public sealed record DecoderOptions
{
    /// <summary>The strategy.</summary>
    public DecodingStrategy Strategy { get; init; } = DecodingStrategy.Autoregressive;

    /// <summary>Settings used when <see cref="Strategy"/> is Jacobi.</summary>
    public JacobiOptions Jacobi { get; init; } = new();

    /// <summary>Settings used when <see cref="Strategy"/> is Lookahead.</summary>
    public LookaheadOptions Lookahead { get; init; } = new();

    /// <summary>Settings used when <see cref="Strategy"/> is Multiblock.</summary>
    public MultiblockOptions Multiblock { get; init; } = new();

    /// <summary>Autoregressive decoding.</summary>
    public static DecoderOptions Autoregressive { get; } = new();

    /// <summary>A short label: ar, jacobi:16, lookahead:5x4x5, multiblock:16x2x0.85x4.</summary>
    public string Label => Strategy switch
    {
        DecodingStrategy.Jacobi => Jacobi.AutoBlockSize ? "jacobi:auto" : string.Create(CultureInfo.InvariantCulture, $"jacobi:{Jacobi.BlockSize}"),
        DecodingStrategy.Lookahead => string.Create(CultureInfo.InvariantCulture, $"lookahead:{Lookahead.Window}x{Lookahead.NGram}x{Lookahead.Guesses}"),
        DecodingStrategy.Multiblock => Multiblock.Auto ? "multiblock:auto" : $"multiblock:{Multiblock.Spec}",
        _ => "ar",
    };

    /// <summary>Throws for settings out of range.</summary>
    public void Validate()
    {
        Jacobi.Validate();
        Lookahead.Validate();
        Multiblock.Validate();
    }

    /// <summary>
    /// Builds the decoder over <paramref name="model"/>. A Jacobi decoder's requests share a first-token memory, so that a
    /// greedy request's prefill can carry its first block (see <see cref="JacobiProposer"/>).
    /// </summary>
    public IDecoder CreateDecoder(LlamaForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Validate();
        var firstTokens = new JacobiFirstTokens();
        return Strategy switch
        {
            DecodingStrategy.Jacobi when Jacobi.AutoBlockSize => AutoJacobi(model, firstTokens),
            DecodingStrategy.Jacobi => new DraftVerifyDecoder(model, Label, () => new JacobiProposer(Jacobi, null, firstTokens), JacobiObservers),
            DecodingStrategy.Lookahead => new DraftVerifyDecoder(model, Label, () => new LookaheadProposer(Lookahead)),
            DecodingStrategy.Multiblock => CreateMultiblock(model, firstTokens),
            _ => new DraftVerifyDecoder(model, Label, () => new NoDraftProposer()),
        };
    }

    /// <summary>Jacobi requests report their block statistics (<see cref="DecodeStats.Jacobi"/>).</summary>
    private static IReadOnlyList<IDecodeObserver> JacobiObservers() => new IDecodeObserver[] { new JacobiBlockTracker() };

    /// <summary>Jacobi with a run-time block size: the model's shared policy (its curve measured now, once per model) unless one is given.</summary>
    private DraftVerifyDecoder AutoJacobi(LlamaForCausalLM model, JacobiFirstTokens firstTokens)
    {
        var options = Jacobi;
        var policy = options.BlockSizePolicy ?? BlockSizePolicy.For(model);
        return new DraftVerifyDecoder(model, Label, () => new JacobiProposer(options, () => policy, firstTokens), JacobiObservers);
    }

    /// <summary>
    /// Multiblock decoding; with <see cref="MultiblockOptions.Auto"/> its n, K and P are chosen now from the model's
    /// forward-cost curve (measured once per model) and the decoder is named after them (multiblock:auto=16x2x0.85x0).
    /// </summary>
    private DraftVerifyDecoder CreateMultiblock(LlamaForCausalLM model, JacobiFirstTokens firstTokens)
    {
        var options = Multiblock.Auto ? MultiblockPlan.For(model, Multiblock) : Multiblock;
        string name = Multiblock.Auto ? $"multiblock:auto={options.Spec}" : Label;
        return new DraftVerifyDecoder(model, name, () => new MultiblockProposer(options, firstTokens));
    }

    /// <summary>
    /// Parses "ar", "jacobi", "jacobi:N", "jacobi:auto", "lookahead", "lookahead:WxNxG", "multiblock",
    /// "multiblock:auto" or "multiblock:NxKxRxP" (trailing parts may be left out); <paramref name="blockSize"/>
    /// is the Jacobi block size when none is given.
    /// </summary>
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
                    ? new DecoderOptions { Strategy = DecodingStrategy.Jacobi, Jacobi = new JacobiOptions { AutoBlockSize = true } }
                    : new DecoderOptions { Strategy = DecodingStrategy.Jacobi, Jacobi = new JacobiOptions { BlockSize = arg.Length > 0 ? ParseInt(size, spec) : ParseBlockSize(size) } };
            case "lookahead":
                var lookahead = new LookaheadOptions();
                if (arg.Length > 0)
                {
                    var wng = arg.Split('x');
                    if (wng.Length != 3)
                    {
                        throw new FormatException($"'{spec}': lookahead takes W x N x G, e.g. lookahead:5x4x5.");
                    }

                    lookahead = new LookaheadOptions { Window = ParseInt(wng[0], spec), NGram = ParseInt(wng[1], spec), Guesses = ParseInt(wng[2], spec) };
                }

                return new DecoderOptions { Strategy = DecodingStrategy.Lookahead, Lookahead = lookahead };
            case "multiblock":
                return new DecoderOptions { Strategy = DecodingStrategy.Multiblock, Multiblock = ParseMultiblock(arg, spec) };
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

    private static int ParseBlockSize(string text)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new FormatException($"--block-size: '{text}' is neither a whole number nor auto.");

    private static int ParseInt(string text, string spec)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new FormatException($"'{spec}': '{text}' is not a whole number.");
}
