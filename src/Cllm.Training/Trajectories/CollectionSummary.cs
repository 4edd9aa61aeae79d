using System;

namespace Cllm.Training;

/// <summary>Totals of a collection run: returned at its end, and reported after each decoded prompt as the totals so far.</summary>
public sealed record CollectionSummary
{
    /// <summary>Prompts in this shard.</summary>
    public int Prompts { get; init; }

    /// <summary>Prompts decoded by this run.</summary>
    public int PromptsCollected { get; init; }

    /// <summary>Prompts found complete in the output and skipped (resume).</summary>
    public int PromptsResumed { get; init; }

    /// <summary>Prompts skipped because the model's context has no room for a block after them.</summary>
    public int PromptsTooLong { get; init; }

    /// <summary>Prompts of the shard finished so far: collected, resumed or too long.</summary>
    public int PromptsDone => PromptsCollected + PromptsResumed + PromptsTooLong;

    /// <summary>The prompt this run decoded last (null before the first).</summary>
    public PromptTrajectories? LastPrompt { get; init; }

    /// <summary>Bytes of an interrupted last prompt removed from the end of the output before resuming.</summary>
    public long TruncatedBytes { get; init; }

    /// <summary>Records (blocks) written by this run.</summary>
    public int BlocksWritten { get; init; }

    /// <summary>Blocks dropped by cleaning.</summary>
    public int BlocksDropped { get; init; }

    /// <summary>States changed by augmentation.</summary>
    public int StatesAugmented { get; init; }

    /// <summary>Tokens decoded (fixed-point tokens of all blocks, dropped ones included).</summary>
    public long TokensGenerated { get; init; }

    /// <summary>Model forward passes.</summary>
    public long ForwardPasses { get; init; }

    /// <summary>Wall time of the run.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Blocks decoded (written + dropped) per second of wall time.</summary>
    public double BlocksPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : (BlocksWritten + BlocksDropped) / Elapsed.TotalSeconds;

    /// <summary>Tokens decoded per second of wall time.</summary>
    public double TokensPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : TokensGenerated / Elapsed.TotalSeconds;

    /// <summary>Tokens per forward pass (Jacobi's speed-up over one token per forward).</summary>
    public double TokensPerForward => ForwardPasses == 0 ? 0 : (double)TokensGenerated / ForwardPasses;

    /// <summary>These totals plus one prompt's figures.</summary>
    public CollectionSummary Add(PromptTrajectories prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return this with
        {
            LastPrompt = prompt,
            PromptsCollected = PromptsCollected + (prompt.TooLong ? 0 : 1),
            PromptsTooLong = PromptsTooLong + (prompt.TooLong ? 1 : 0),
            BlocksWritten = BlocksWritten + prompt.Records.Count,
            BlocksDropped = BlocksDropped + prompt.BlocksDropped,
            StatesAugmented = StatesAugmented + prompt.StatesAugmented,
            TokensGenerated = TokensGenerated + prompt.TokensGenerated,
            ForwardPasses = ForwardPasses + prompt.ForwardPasses,
        };
    }
}
