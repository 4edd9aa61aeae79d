namespace Cllm.Reproduction.Pipeline;

/// <summary>What the trajectory stage reports (trajectories/summary.json).</summary>
public sealed record CollectionReport
{
    /// <summary>Prompts decoded.</summary>
    public int Prompts { get; init; }

    /// <summary>Block size n.</summary>
    public int BlockSize { get; init; }

    /// <summary>Records (blocks) written.</summary>
    public int Records { get; init; }

    /// <summary>Blocks dropped by cleaning.</summary>
    public int Dropped { get; init; }

    /// <summary>Non-final trajectory states over all records (the student states training can draw).</summary>
    public long States { get; init; }

    /// <summary>Tokens per forward of the base model's Jacobi decoding during collection.</summary>
    public double TokensPerForward { get; init; }

    /// <summary>Augmentation on.</summary>
    public bool Augment { get; init; }

    /// <summary>Stage wall time, seconds.</summary>
    public double Seconds { get; init; }
}
