using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)).</summary>
internal sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")]
    private readonly Projection _gateProj;
    [ComponentName(Name = "up_proj")]
    private readonly Projection _upProj;
    [ComponentName(Name = "down_proj")]
    private readonly Projection _downProj;

    public LlamaMlp(LlamaConfig config, ScalarType dtype, bool initialize = true, WeightQuantization quantization = WeightQuantization.None) : base(nameof(LlamaMlp))
    {
        _gateProj = new Projection(config.HiddenSize, config.IntermediateSize, config.MlpBias, dtype, initialize, quantization);
        _upProj = new Projection(config.HiddenSize, config.IntermediateSize, config.MlpBias, dtype, initialize, quantization);
        _downProj = new Projection(config.IntermediateSize, config.HiddenSize, config.MlpBias, dtype, initialize, quantization);
        RegisterComponents();
    }

    /// <summary>The gate, up and down projections, for the fused inference weights (<see cref="LeanForward"/>).</summary>
    internal (Projection Gate, Projection Up, Projection Down) Projections => (_gateProj, _upProj, _downProj);

    /// <summary>x: (B, T, C) → (B, T, C).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return _downProj.forward(nn.functional.silu(_gateProj.forward(x)) * _upProj.forward(x)).MoveToOuterDisposeScope();
    }
}
