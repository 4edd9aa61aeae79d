using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// A linear projection y = x·Wᵀ + b of the attention and MLP blocks, with the state-dict names of <c>nn.Linear</c>
/// (<c>weight</c> (N, K), <c>bias</c> (N)). Float, or weight-only quantized for CPU inference: then <c>weight</c> is a
/// shape-only (meta-device) parameter that the checkpoint loader fills through <see cref="LoadQuantized"/>, one tensor at a
/// time, so the float weight never exists in full; the integers live in a <see cref="QuantizedWeight"/>.
/// </summary>
internal sealed class Projection : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight;
    private readonly Parameter? _bias;

    private readonly WeightQuantization _requested;
    private QuantizedWeight? _quantized;

    /// <summary>
    /// in → out features. <paramref name="quantization"/> other than None makes the weight a placeholder awaiting
    /// <see cref="LoadQuantized"/> (<paramref name="initialize"/> is then irrelevant); the bias stays in <paramref name="dtype"/>.
    /// </summary>
    public Projection(long inputSize, long outputSize, bool hasBias, ScalarType dtype, bool initialize, WeightQuantization quantization = WeightQuantization.None)
        : base(nameof(Projection))
    {
        _requested = quantization;
        if (quantization != WeightQuantization.None)
        {
            _weight = new Parameter(empty(outputSize, inputSize, dtype: dtype, device: new Device(DeviceType.META)), requires_grad: false);
            _bias = hasBias ? new Parameter(zeros(outputSize, dtype: dtype), requires_grad: false) : null;
        }
        else
        {
            // nn.Linear's parameters, for its initialisation (random models stay what they were); the module itself is dropped.
            var linear = UninitializedModules.Linear(inputSize, outputSize, hasBias, dtype, initialize);
            _weight = linear.weight!;
            _bias = linear.bias;
        }

        register_parameter("weight", _weight);                                                     // nn.Linear's state-dict names
        if (_bias is not null)
        {
            register_parameter("bias", _bias);
        }
    }

    /// <summary>(N, K) float weight; a meta-device placeholder when quantized.</summary>
    internal Parameter Weight => _weight;

    /// <summary>(N) or null.</summary>
    internal Parameter? Bias => _bias;

    /// <summary>The quantized weight once loaded; null for a float projection.</summary>
    internal QuantizedWeight? Quantized => _quantized;

    /// <summary>Whether this projection is quantized (its float weight is a placeholder).</summary>
    internal bool IsQuantized => _requested != WeightQuantization.None;

    /// <summary>Quantizes <paramref name="weight"/> (N, K) into this projection (activations in <paramref name="computeDType"/>).</summary>
    internal void LoadQuantized(Tensor weight, ScalarType computeDType)
    {
        if (!IsQuantized)
        {
            throw new InvalidOperationException("this projection is not quantized.");
        }

        if (!weight.shape.AsSpan().SequenceEqual(_weight.shape))
        {
            throw new ArgumentException($"weight is {string.Join('x', weight.shape)}, the projection {string.Join('x', _weight.shape)}.", nameof(weight));
        }

        var quantized = QuantizedWeight.Create(weight, _requested, computeDType, _weight.dtype);
        _quantized?.Dispose();
        _quantized = quantized;
    }

    /// <summary>x: (…, K) → (…, N).</summary>
    public override Tensor forward(Tensor x)
    {
        if (!IsQuantized)
        {
            return nn.functional.linear(x, _weight, _bias);
        }

        var quantized = _quantized ?? throw new InvalidOperationException("the quantized weight of this projection was never loaded.");
        if (_bias is null)
        {
            return quantized.Forward(x);
        }

        using var scope = NewDisposeScope();
        return quantized.Forward(x).add(_bias, Scalars.One).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _quantized?.Dispose();
            _quantized = null;
        }

        base.Dispose(disposing);
    }
}
