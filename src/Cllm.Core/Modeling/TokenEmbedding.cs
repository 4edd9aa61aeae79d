using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// Token embeddings stored transposed and contiguous: <c>weight_t</c> (C, V), the Hugging Face (V, C)
/// <c>embed_tokens.weight</c> that the model's <c>state_dict()</c> shows as a view. That layout is the one a tied
/// classifier multiplies by (x·weight_t, one contiguous product: over the transposed view of a (V, C) matrix a 1-token
/// product at a 32,000-token vocabulary took twice as long), and a lookup gathers T columns.
/// </summary>
internal sealed class TokenEmbedding : nn.Module
{
    private readonly Parameter _weightT;

    public TokenEmbedding(long vocabulary, long hidden, ScalarType dtype) : base(nameof(TokenEmbedding))
    {
        using var init = nn.Embedding(vocabulary, hidden, dtype: dtype);                // nn.Embedding's N(0, 1) draws, as before
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        _weightT = new Parameter(init.weight!.t().contiguous().DetachFromDisposeScope());
        register_parameter("weight_t", _weightT);
    }

    /// <summary>(C, V), the parameter itself; the tied classifier.</summary>
    internal Parameter WeightT => _weightT;

    /// <summary>ids (any shape, N ids) → their embeddings (N, C), a new contiguous tensor (with autograd when enabled).</summary>
    public Tensor Rows(Tensor ids)
    {
        using var flat = ids.reshape(-1);
        using var rows = _weightT.t();                                                     // (V, C), a strided view
        return rows.index_select(0, flat);                                                 // one gather straight into a contiguous (N, C)
    }
}
