namespace Cllm.Reproduction.Evaluation;

/// <summary>One row of the paper-style table: a model × decoder on the test split.</summary>
public sealed record EvaluationRow
{
    /// <summary>"base" or "cllm".</summary>
    public required string Model { get; init; }

    /// <summary>Decoder label (ar, jacobi:16, lookahead:5x4x5).</summary>
    public required string Decoder { get; init; }

    /// <summary>Test tasks decoded.</summary>
    public int Tasks { get; init; }

    /// <summary>Execution accuracy (0–1).</summary>
    public double ExecutionAccuracy { get; init; }

    /// <summary>Exact match after whitespace normalisation (0–1).</summary>
    public double ExactMatch { get; init; }

    /// <summary>Outputs identical (token for token) to the same model's greedy AR output (0–1).</summary>
    public double EqualsOwnAr { get; init; }

    /// <summary>Generated tokens over all tasks (EOS not counted).</summary>
    public long Tokens { get; init; }

    /// <summary>Forward passes over all tasks, prefills included.</summary>
    public long ForwardPasses { get; init; }

    /// <summary>Generated tokens per forward pass.</summary>
    public double TokensPerForward { get; init; }

    /// <summary>Jacobi: mean fast-forwarded count (the paper's definition); NaN for other decoders.</summary>
    public double FastForwarded { get; init; }

    /// <summary>Jacobi: mean stationary tokens per request; NaN for other decoders.</summary>
    public double Stationary { get; init; }

    /// <summary>Jacobi: mean iterations (forwards) per block; NaN for other decoders.</summary>
    public double IterationsPerBlock { get; init; }

    /// <summary>Wall time of all requests, seconds.</summary>
    public double Seconds { get; init; }

    /// <summary>Generated tokens per second.</summary>
    public double TokensPerSecond { get; init; }

    /// <summary>Tokens per second over the base model's AR tokens per second (the paper's speedup).</summary>
    public double SpeedupVsBaseAr { get; init; }

    /// <summary>Tokens per second over the same model's AR tokens per second.</summary>
    public double SpeedupVsOwnAr { get; init; }
}
