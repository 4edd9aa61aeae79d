using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// SwiGLU feed-forward: down(silu(gate(x)) · up(x)), gate and up one stacked projection (<c>gate_up_proj</c>; the
/// model's state dict shows gate_proj and up_proj).
/// </summary>
internal sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_up_proj")]
    private readonly Projection _gateUpProj;
    [ComponentName(Name = "down_proj")]
    private readonly Projection _downProj;

    private readonly long _intermediate;

    public LlamaMlp(LlamaConfig config, ScalarType dtype, bool initialize = true, WeightQuantization quantization = WeightQuantization.None) : base(nameof(LlamaMlp))
    {
        _intermediate = config.IntermediateSize;
        _gateUpProj = new Projection(config.HiddenSize, 2 * _intermediate, config.MlpBias, dtype, initialize, quantization, new[] { ("gate_proj", _intermediate), ("up_proj", _intermediate) });
        _downProj = new Projection(config.IntermediateSize, config.HiddenSize, config.MlpBias, dtype, initialize, quantization);
        RegisterComponents();
    }

    /// <summary>x: (B, T, C) → (B, T, C), with autograd.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gateUp = _gateUpProj.forward(x);                                            // (B, T, 2I)
        var gate = gateUp.narrow(-1, 0, _intermediate);
        var up = gateUp.narrow(-1, _intermediate, _intermediate);
        return _downProj.forward(nn.functional.silu(gate).mul(up)).MoveToOuterDisposeScope();
    }

    /// <summary>Without autograd: x (B·T, C), the residual stream, += mlp(<paramref name="normed"/> (B·T, C)), in place in <paramref name="s"/>'s buffers.</summary>
    public void ForwardInPlace(Tensor x, Tensor normed, ForwardWorkspace s)
    {
        _gateUpProj.ForwardInto(normed, s.GateUp, accumulate: false);                    // (B·T, 2I)
        s.Gate.silu_().mul_(s.Up);
        _downProj.ForwardInto(s.Gate, x, accumulate: true);                             // x += down(act)
    }
}
