using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Cllm.Modeling;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)).</summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")]
    private readonly Linear _gateProj;
    [ComponentName(Name = "up_proj")]
    private readonly Linear _upProj;
    [ComponentName(Name = "down_proj")]
    private readonly Linear _downProj;

    public LlamaMlp(LlamaConfig config, ScalarType dtype) : base(nameof(LlamaMlp))
    {
        _gateProj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: config.MlpBias, dtype: dtype);
        _upProj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: config.MlpBias, dtype: dtype);
        _downProj = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: config.MlpBias, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The gate, up and down projections, for the fused inference weights (<see cref="LeanForward"/>).</summary>
    internal (Linear Gate, Linear Up, Linear Down) Projections => (_gateProj, _upProj, _downProj);

    /// <summary>x: (B, T, C) → (B, T, C).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return _downProj.forward(nn.functional.silu(_gateProj.forward(x)) * _upProj.forward(x)).MoveToOuterDisposeScope();
    }
}
