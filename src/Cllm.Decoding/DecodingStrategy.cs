namespace Cllm;

/// <summary>The decoding strategies Cllm ships.</summary>
public enum DecodingStrategy
{
    /// <summary>One token per forward pass (greedy or sampled).</summary>
    Autoregressive = 0,

    /// <summary>Jacobi decoding: refine an n-token block in parallel until it is a fixed point.</summary>
    Jacobi,

    /// <summary>Lookahead decoding: a 2-D Jacobi window, an n-gram pool and a verification branch.</summary>
    Lookahead,

    /// <summary>Multiblock Jacobi decoding with rejection recycling (Jacobi Forcing's inference): K blocks in flight, recycled n-grams.</summary>
    Multiblock,
}
