using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// A linear projection y = x·W + b of the attention and MLP blocks, its weight stored transposed and contiguous:
/// <c>weight_t</c> (K, N) = Wᵀ of <c>nn.Linear</c>'s (N, K), so that x·W is one <c>matmul</c>/<c>addmm</c> over contiguous rows
/// (a 1-token product over the transposed view of an (N, K) weight took about 30% longer at sql-cllm's shapes, 2x at a
/// 32000-row classifier), and <c>bias</c> (N). It may stack several Hugging Face projections of one input along N (q/k/v
/// as <c>qkv_proj</c>, gate/up as <c>gate_up_proj</c>, as vLLM's stacked parameters do): one product instead of three or
/// two. The model's <c>state_dict()</c> shows each under its Hugging Face name and layout ((rows, K) views, see
/// <see cref="Parts"/>). Float, or weight-only quantized for CPU inference: then <c>weight_t</c> is a shape-only
/// (meta-device) parameter that the checkpoint loader fills through <see cref="LoadQuantizedRows"/>, one Hugging Face
/// tensor at a time, and the integers live in a <see cref="QuantizedWeight"/> (in the kernels' (N, K) layout).
/// </summary>
internal sealed class Projection : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weightT;
    private readonly Parameter? _bias;

    private readonly WeightQuantization _requested;
    private QuantizedWeight? _quantized;
    private QuantizedWeightBuilder? _building;   // a quantized weight whose rows are still being loaded

    /// <summary>
    /// in → out features, out = the sum of <paramref name="parts"/>' rows when given (name, rows) per stacked Hugging Face
    /// projection. <paramref name="quantization"/> other than None makes the weight a placeholder awaiting
    /// <see cref="LoadQuantizedRows"/> (<paramref name="initialize"/> is then irrelevant); the bias stays in <paramref name="dtype"/>.
    /// </summary>
    public Projection(long inputSize, long outputSize, bool hasBias, ScalarType dtype, bool initialize, WeightQuantization quantization = WeightQuantization.None, IReadOnlyList<(string Name, long Rows)>? parts = null)
        : base(nameof(Projection))
    {
        _requested = quantization;
        if (parts is not null)
        {
            if (parts.Sum(p => p.Rows) != outputSize)
            {
                throw new ArgumentException($"the parts' rows add up to {parts.Sum(p => p.Rows)}, not {outputSize}.", nameof(parts));
            }

            long offset = 0;
            var ranges = new List<(string, long, long)>();
            foreach (var (name, rows) in parts)
            {
                ranges.Add((name, offset, rows));
                offset += rows;
            }

            Parts = ranges;
        }

        if (quantization != WeightQuantization.None)
        {
            _weightT = new Parameter(empty(inputSize, outputSize, dtype: dtype, device: new Device(DeviceType.META)), requires_grad: false);
            _bias = hasBias ? new Parameter(zeros(outputSize, dtype: dtype), requires_grad: false) : null;
        }
        else if (!initialize)
        {
            _weightT = new Parameter(empty(inputSize, outputSize, dtype: dtype));
            _bias = hasBias ? new Parameter(empty(outputSize, dtype: dtype)) : null;
        }
        else
        {
            // nn.Linear's initialisation, part by part, so that random models draw what separate nn.Linear projections did.
            var linears = (parts?.Select(p => p.Rows) ?? new[] { outputSize }).Select(rows => nn.Linear(inputSize, rows, hasBias, dtype: dtype)).ToList();
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            _weightT = new Parameter(cat(linears.Select(l => (Tensor)l.weight!).ToArray(), 0).t().contiguous().DetachFromDisposeScope());
            _bias = hasBias ? new Parameter(cat(linears.Select(l => (Tensor)l.bias!).ToArray(), 0).DetachFromDisposeScope()) : null;
            linears.ForEach(l => l.Dispose());
        }

        register_parameter("weight_t", _weightT);
        if (_bias is not null)
        {
            register_parameter("bias", _bias);
        }
    }

    /// <summary>The stacked Hugging Face projections (module name, first row, rows), or null for a single projection.</summary>
    internal IReadOnlyList<(string Name, long Offset, long Rows)>? Parts { get; }

    /// <summary>(K, N), the float weight parameter itself (a meta-device placeholder when quantized).</summary>
    internal Parameter WeightT => _weightT;

    /// <summary>N, the output features.</summary>
    internal long OutFeatures => _weightT.shape[1];

    /// <summary>(N) or null.</summary>
    internal Parameter? Bias => _bias;

    /// <summary>The quantized weight once loaded; null for a float projection.</summary>
    internal QuantizedWeight? Quantized => _quantized;

    /// <summary>Whether this projection is quantized (its float weight is a placeholder).</summary>
    internal bool IsQuantized => _requested != WeightQuantization.None;

    /// <summary>
    /// Takes <paramref name="weight"/> (R, K), rows [<paramref name="offset"/>, offset + R) of the float weight, and quantizes
    /// them now into the weight's final storage (activations in <paramref name="computeDType"/>); the weight is in use once
    /// every row has arrived (the loader sends a stacked projection's parts, and a large part, a block of rows at a time).
    /// </summary>
    internal void LoadQuantizedRows(long offset, Tensor weight, ScalarType computeDType)
    {
        if (!IsQuantized)
        {
            throw new InvalidOperationException("this projection is not quantized.");
        }

        long k = _weightT.shape[0], n = _weightT.shape[1];
        if (weight.dim() != 2 || weight.shape[1] != k || offset < 0 || offset + weight.shape[0] > n)
        {
            throw new ArgumentException($"rows {offset}.. of shape {string.Join('x', weight.shape)} do not fit the projection's {n}x{k}.", nameof(weight));
        }

        _building ??= new QuantizedWeightBuilder(n, k, _requested, computeDType, _weightT.dtype);
        _building.Add(offset, weight);
        if (_building.Complete)
        {
            _quantized?.Dispose();
            _quantized = _building.Build();
            _building.Dispose();
            _building = null;
        }
    }

    /// <summary>x: (…, K) → (…, N).</summary>
    public override Tensor forward(Tensor x)
    {
        if (!IsQuantized)
        {
            var y = x.matmul(_weightT);                                                                    // (…, N)
            return _bias is null ? y : y.add_(_bias, Scalars.One);
        }

        var quantized = QuantizedOrThrow;
        if (_bias is null)
        {
            return quantized.Forward(x);
        }

        using var scope = NewDisposeScope();
        return quantized.Forward(x).add(_bias, Scalars.One).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Without autograd: <paramref name="output"/> (M, N) = x·Wᵀ + b, or += when <paramref name="accumulate"/> (a residual
    /// add folded into the product); x: (M, K). A float weight is one in-place <c>addmm_</c>.
    /// </summary>
    public void ForwardInto(Tensor x, Tensor output, bool accumulate)
    {
        if (_bias is not null)
        {
            if (accumulate)
            {
                output.add_(_bias, Scalars.One);
            }
            else
            {
                output.copy_(_bias);
            }

            accumulate = true;
        }

        if (!IsQuantized)
        {
            output.addmm_(x, _weightT, accumulate ? 1 : 0, 1);
            return;
        }

        if (QuantizedOrThrow.TryForwardInto(x, output, accumulate))
        {
            return;
        }

        using var y = QuantizedOrThrow.Forward(x);
        if (accumulate)
        {
            output.add_(y, Scalars.One);
        }
        else
        {
            output.copy_(y);
        }
    }

    private QuantizedWeight QuantizedOrThrow => _quantized ?? throw new InvalidOperationException("the quantized weight of this projection was never loaded.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _quantized?.Dispose();
            _quantized = null;
            _building?.Dispose();
            _building = null;
        }

        base.Dispose(disposing);
    }
}
