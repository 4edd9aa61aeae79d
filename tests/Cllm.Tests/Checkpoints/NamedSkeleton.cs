using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cllm.Tests.Checkpoints;

/// <summary>
/// A parameter-only LLaMA skeleton whose state-dict names are Hugging Face's
/// (<c>model.layers.0.self_attn.q_proj.weight</c>, …). No forward pass: it only exercises checkpoint I/O.
/// </summary>
internal sealed class NamedSkeleton : nn.Module
{
    public SkeletonBody model;
    public Linear? lm_head;

    public NamedSkeleton(SkeletonShape shape)
        : base(nameof(NamedSkeleton))
    {
        model = new SkeletonBody(shape);
        lm_head = shape.Tied ? null : nn.Linear(shape.Dim, shape.Vocab, hasBias: false);
        RegisterComponents();
    }
}

internal sealed record SkeletonShape(int Vocab, int Dim, int Hidden, int Layers, int KvDim, bool Tied, bool QkvBias = false)
{
    /// <summary>vocab 16, dim 8, hidden 12, 2 layers, kv width 4, untied.</summary>
    public static SkeletonShape Small { get; } = new(16, 8, 12, 2, 4, Tied: false);
}

internal sealed class SkeletonBody : nn.Module
{
    public Embedding embed_tokens;
    public ModuleList<TinyDecoderLayer> layers;
    public TinyRmsNorm norm;

    public SkeletonBody(SkeletonShape shape)
        : base(nameof(SkeletonBody))
    {
        embed_tokens = nn.Embedding(shape.Vocab, shape.Dim);
        layers = new ModuleList<TinyDecoderLayer>();
        for (var i = 0; i < shape.Layers; i++)
        {
            layers.Add(new TinyDecoderLayer(shape));
        }

        norm = new TinyRmsNorm(shape.Dim);
        RegisterComponents();
    }
}

internal sealed class TinyDecoderLayer : nn.Module
{
    public TinyAttention self_attn;
    public TinyMlp mlp;
    public TinyRmsNorm input_layernorm;
    public TinyRmsNorm post_attention_layernorm;

    public TinyDecoderLayer(SkeletonShape shape)
        : base(nameof(TinyDecoderLayer))
    {
        self_attn = new TinyAttention(shape);
        mlp = new TinyMlp(shape);
        input_layernorm = new TinyRmsNorm(shape.Dim);
        post_attention_layernorm = new TinyRmsNorm(shape.Dim);
        RegisterComponents();
    }
}

internal sealed class TinyAttention : nn.Module
{
    public Linear q_proj;
    public Linear k_proj;
    public Linear v_proj;
    public Linear o_proj;

    public TinyAttention(SkeletonShape shape)
        : base(nameof(TinyAttention))
    {
        q_proj = nn.Linear(shape.Dim, shape.Dim, hasBias: shape.QkvBias);
        k_proj = nn.Linear(shape.Dim, shape.KvDim, hasBias: shape.QkvBias);
        v_proj = nn.Linear(shape.Dim, shape.KvDim, hasBias: shape.QkvBias);
        o_proj = nn.Linear(shape.Dim, shape.Dim, hasBias: false);
        RegisterComponents();
    }
}

internal sealed class TinyMlp : nn.Module
{
    public Linear gate_proj;
    public Linear up_proj;
    public Linear down_proj;

    public TinyMlp(SkeletonShape shape)
        : base(nameof(TinyMlp))
    {
        gate_proj = nn.Linear(shape.Dim, shape.Hidden, hasBias: false);
        up_proj = nn.Linear(shape.Dim, shape.Hidden, hasBias: false);
        down_proj = nn.Linear(shape.Hidden, shape.Dim, hasBias: false);
        RegisterComponents();
    }
}

internal sealed class TinyRmsNorm : nn.Module
{
    public Parameter weight;

    public TinyRmsNorm(long dim)
        : base(nameof(TinyRmsNorm))
    {
        using var half = 0.5.ToScalar();
        weight = new Parameter(torch.rand(dim).add(half, Cllm.Core.Scalars.One));
        RegisterComponents();
    }
}
