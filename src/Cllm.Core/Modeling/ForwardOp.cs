namespace Cllm.Core;

/// <summary>The op classes of one forward that <see cref="ForwardProfiler"/> times separately.</summary>
internal enum ForwardOp
{
    /// <summary>Positions, mask bias and rotary-angle lookup.</summary>
    Setup,
    /// <summary>Token embedding lookup.</summary>
    Embedding,
    /// <summary>RMS norms (two per layer and the final one).</summary>
    Norms,
    /// <summary>q, k and v projections.</summary>
    QkvProjection,
    /// <summary>Rotary rotation of q and k.</summary>
    Rope,
    /// <summary>Writing k and v into the KV cache.</summary>
    CacheWrite,
    /// <summary>Scaled dot-product attention with its reshapes.</summary>
    Attention,
    /// <summary>Output projection.</summary>
    OProjection,
    /// <summary>SwiGLU MLP (gate, up, silu, product, down).</summary>
    Mlp,
    /// <summary>Residual additions.</summary>
    Residual,
    /// <summary>Classifier (lm_head) and the float32 cast of the logits.</summary>
    LmHead,
}
