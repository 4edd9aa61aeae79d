using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Cllm;
using Cllm.Core;

namespace Cllm.Training;

/// <summary>
/// Jacobi trajectory collection (the paper's Algorithm 1). Each prompt is decoded greedily by the project's
/// own Jacobi decoder (<see cref="DraftVerifyDecoder"/> with a <see cref="JacobiProposer"/>), and every block
/// it decodes becomes one <see cref="TrajectoryRecord"/>: the context (prompt + earlier fixed points), the
/// states y(0) … y*, the teacher output (context + y*) and the prompt's whole generation.
/// <para>
/// Blocks. A prompt yields up to ⌊MaxNewTokens / n⌋ blocks of exactly n tokens, so never more than MaxNewTokens
/// tokens (the reference rounds up and may overshoot by up to n − 1). Decoding does not stop at
/// EOS mid-block: as in the reference, the block containing the first EOS is decoded to its fixed point
/// (its tokens after EOS are the model's greedy continuation) and collection of the prompt ends after it.
/// So every record has the full block size and its last state really is a fixed point.
/// </para>
/// <para>
/// Context. When the model's context cannot hold the prompt, all ⌊MaxNewTokens / n⌋ blocks and the token
/// after them, the prompt gets as many whole blocks as fit; a prompt with no room for one block is skipped
/// (<see cref="PromptTrajectories.TooLong"/>).
/// </para>
/// <para>
/// Randomness. The initial guesses (uniform over the context, as in the reference) and augmentation draw
/// from generators derived from <see cref="TrajectoryCollectionOptions.Seed"/> and the prompt index (and
/// block index), so a prompt's records do not depend on which shard or run collects it.
/// </para>
/// The model must not be used by another thread during collection.
/// </summary>
public sealed class JacobiTrajectoryCollector : ITrajectorySource
{
    private readonly LlamaForCausalLM _model;
    private readonly IReadOnlyList<IReadOnlyList<int>> _prompts;
    private readonly int[] _eosTokenIds;

    /// <summary>A collector of <paramref name="prompts"/> on <paramref name="model"/> (nothing is decoded until asked).</summary>
    /// <param name="model">The target model (greedy decoding; float32 keeps Jacobi equal to autoregressive decoding).</param>
    /// <param name="prompts">Prompt token ids (BOS included when the tokenizer adds one); index i becomes "data_i".</param>
    /// <param name="options">Collection settings.</param>
    public JacobiTrajectoryCollector(LlamaForCausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, TrajectoryCollectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        _prompts = prompts;
        Options = options;
        _eosTokenIds = (options.EosTokenIds ?? model.Config.EosTokenIds).Distinct().ToArray();
    }

    /// <summary>The settings.</summary>
    public TrajectoryCollectionOptions Options { get; }

    /// <summary>The EOS ids collection stops at.</summary>
    public IReadOnlyList<int> EosTokenIds => _eosTokenIds;

    /// <summary>
    /// The collecting model's fingerprint, written into every record by <see cref="CollectToFile"/> (so that training
    /// can refuse another model) and checked on resume; null writes none.
    /// </summary>
    internal ModelFingerprint? Fingerprint { get; init; }

    /// <summary>The model's context length (positions): a prompt, its blocks and one more token must fit in it.</summary>
    internal int ContextLength => _model.Config.MaxPositionEmbeddings;

    /// <summary>
    /// Whole blocks prompt <paramref name="promptIndex"/> gets: ⌊MaxNewTokens / n⌋, or fewer when the context cannot hold
    /// the prompt, the blocks and the token after them; 0 when not even one block fits (the prompt is skipped).
    /// </summary>
    internal int BlocksFor(int promptIndex)
    {
        int n = Options.BlockSize;
        return Math.Max(0, Math.Min(Options.BlocksPerPrompt, (ContextLength - _prompts[promptIndex].Count - 1) / n));   // the token after the last block must fit too
    }

    /// <summary>Indices of the prompts in <see cref="TrajectoryCollectionOptions.Shard"/>, ascending.</summary>
    internal IEnumerable<int> ShardPrompts
    {
        get
        {
            for (int i = Options.Shard.Index; i < _prompts.Count; i += Options.Shard.Count)
            {
                yield return i;
            }
        }
    }

    /// <summary>A live source: decodes the shard's prompts in order and yields their kept records.</summary>
    public IEnumerable<TrajectoryRecord> Read(CancellationToken cancellationToken = default)
    {
        foreach (int i in ShardPrompts)
        {
            foreach (var record in CollectPrompt(i, cancellationToken).Records)
            {
                yield return record;
            }
        }
    }

    /// <summary>
    /// Collects the shard's prompts into <paramref name="path"/>: decodes every prompt of the shard
    /// not already there, appending one batch per prompt. Rerunning with the same output resumes: prompts
    /// whose records are all present are skipped, and a prompt cut short by a crash (a partial last line or an
    /// incomplete last batch) is cut off and decoded again. Prompts whose records were all dropped by cleaning
    /// leave nothing in the file and are decoded again on resume. Resume with the same settings: every record carries
    /// them (<c>collect_settings</c>), and another block size, MaxNewTokens, Seed, Augment, Clean or (when both are
    /// known) model fingerprint is refused.
    /// </summary>
    /// <param name="path">The JSONL output (created if missing).</param>
    /// <param name="progress">Called synchronously after each decoded prompt, with the totals so far.</param>
    /// <param name="cancellationToken">Stops between forward passes; everything already written stays valid.</param>
    public CollectionSummary CollectToFile(string path, IProgress<CollectionSummary>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var clock = Stopwatch.StartNew();
        var shard = ShardPrompts.ToList();
        var stamp = CollectionStamp.From(Options) with { Model = Fingerprint };
        var (complete, truncated) = TrajectoryResume.Prepare(path, _prompts, Options.BlockSize, Options.Shard, stamp);
        var summary = new CollectionSummary { Prompts = shard.Count, PromptsResumed = complete.Count, TruncatedBytes = truncated };
        using var writer = new JsonlTrajectoryWriter(path, append: true) { Stamp = stamp };
        foreach (int i in shard)
        {
            if (complete.Contains(i))
            {
                continue;
            }

            var result = CollectPrompt(i, cancellationToken);
            writer.WritePrompt(result.Records);
            summary = summary.Add(result) with { Elapsed = clock.Elapsed };
            progress?.Report(summary);
        }

        return summary with { Elapsed = clock.Elapsed };
    }

    /// <summary>Decodes one prompt and returns its records (cleaned and augmented as configured).</summary>
    public PromptTrajectories CollectPrompt(int promptIndex, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(promptIndex, _prompts.Count);
        var clock = Stopwatch.StartNew();
        var prompt = _prompts[promptIndex] ?? throw new ArgumentException($"prompt {promptIndex} is null.", nameof(promptIndex));
        if (prompt.Count == 0)
        {
            throw new ArgumentException($"prompt {promptIndex} has no tokens.", nameof(promptIndex));
        }

        int n = Options.BlockSize;
        int blocks = BlocksFor(promptIndex);
        if (blocks < 1)
        {
            return new PromptTrajectories { PromptIndex = promptIndex, Records = Array.Empty<TrajectoryRecord>(), TooLong = true, Elapsed = clock.Elapsed };
        }

        // Decode. The budget is whole blocks plus the token that would open the next block, so that the proposer
        // never shortens the last block; EOS is not a stop condition (the block holding it is finished and then
        // enumeration ends).
        var recorder = new BlockRecorder(_eosTokenIds);
        var jacobi = new JacobiOptions { BlockSize = n, InitialGuess = JacobiInitialGuess.ContextSample, Seed = DeriveSeed(Options.Seed, promptIndex, 0) };
        // No draft rides on the prefill: the first block starts with the first generated token, as in the reference.
        var decoder = new DraftVerifyDecoder(_model, "jacobi", () => new JacobiProposer(jacobi), () => new IDecodeObserver[] { recorder }) { DraftAtPrefill = false };
        var request = new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = blocks * n + 1 } };
        int forwards = 0;
        foreach (var _ in decoder.Decode(request, cancellationToken))
        {
            forwards++;                                                                   // each step is one forward pass (the first is the prefill)
            if (recorder.ReachedEos)
            {
                break;
            }
        }

        var decoded = new List<(int[] Context, int[][] States)>();
        foreach (var block in recorder.Blocks)
        {
            if (!block.Complete || block.FixedPoint.Length != n)
            {
                throw new InvalidOperationException($"prompt {promptIndex}: block {block.BlockIndex} ended with {block.FixedPoint.Length} of {n} tokens (complete: {block.Complete}); collection expects whole blocks.");
            }

            decoded.Add((block.ContextIds.ToArray(), UpToFixedPoint(block.States)));
        }

        var whole = decoded.Count == 0 ? prompt.ToArray() : Concat(decoded[^1].Context, decoded[^1].States[^1]);
        var records = new List<TrajectoryRecord>(decoded.Count);
        int dropped = 0, augmented = 0;
        string dataId = TrajectoryJson.FormatDataId(promptIndex);
        for (int k = 0; k < decoded.Count; k++)
        {
            var (context, states) = decoded[k];
            var record = new TrajectoryRecord
            {
                DataId = dataId,
                BlockIndex = k,
                PromptLength = prompt.Count,
                PromptIds = context,
                Trajectory = states,
                TeacherOutputIds = Concat(context, states[^1]),
                CompleteTeacherOutputIds = whole,
            };

            if (Options.Clean && TrajectoryCleaning.IsLowQuality(record, _eosTokenIds))
            {
                dropped++;
                continue;
            }

            if (Options.Augment)
            {
                (record, int changed) = TrajectoryAugmentation.Augment(record, new Random(DeriveSeed(Options.Seed, promptIndex, 1 + k)));
                augmented += changed;
            }

            records.Add(record);
        }

        return new PromptTrajectories
        {
            PromptIndex = promptIndex,
            Records = records,
            BlocksCollected = decoded.Count,
            BlocksDropped = dropped,
            StatesAugmented = augmented,
            TokensGenerated = decoded.Count * n,
            ForwardPasses = forwards,
            ReachedEos = recorder.ReachedEos,
            Elapsed = clock.Elapsed,
        };
    }

    /// <summary>The states up to the first one equal to the fixed point (a converged trajectory has no later states).</summary>
    private static int[][] UpToFixedPoint(IReadOnlyList<int[]> states)
    {
        var fixedPoint = states[^1];
        int last = 0;
        while (!states[last].AsSpan().SequenceEqual(fixedPoint))
        {
            last++;
        }

        var result = new int[last + 1][];
        for (int j = 0; j <= last; j++)
        {
            result[j] = (int[])states[j].Clone();
        }

        return result;
    }

    private static int[] Concat(int[] first, int[] second)
    {
        var result = new int[first.Length + second.Length];
        first.CopyTo(result, 0);
        second.CopyTo(result, first.Length);
        return result;
    }

    /// <summary>A seed for one prompt's generator number <paramref name="stream"/> (a SplitMix64 finaliser over the three inputs).</summary>
    private static int DeriveSeed(int seed, int promptIndex, int stream)
    {
        ulong x = ((ulong)(uint)seed << 32) ^ (uint)promptIndex;
        x += 0x9E3779B97F4A7C15UL * (ulong)(stream + 1);
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return (int)(x >> 33);
    }
}
