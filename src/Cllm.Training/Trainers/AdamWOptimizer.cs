using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter; decoupled weight decay, no AMSGrad): the update of <c>torch.optim.AdamW</c>, op for op,
/// so results match TorchSharp's AdamW bit for bit. It exists because TorchSharp's <c>AdamW.step()</c> passes C# numbers
/// where libtorch takes Scalars, and nothing keeps those temporaries alive during the native call: under GC pressure
/// (a busy host, a parallel test run) the finalizer thread can free one mid-call. Here every Scalar is owned and disposed.
/// Holds the first and second moments of each parameter (same shape and dtype), outside every dispose scope.
/// </summary>
internal sealed class AdamWOptimizer : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _expAvg;
    private readonly Tensor[] _expAvgSq;
    private readonly long[] _steps;
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _epsilon;
    private readonly double _weightDecay;
    private bool _disposed;

    public AdamWOptimizer(IEnumerable<Parameter> parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.ToArray();
        LearningRate = learningRate;
        _beta1 = beta1;
        _beta2 = beta2;
        _epsilon = epsilon;
        _weightDecay = weightDecay;
        _expAvg = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        _expAvgSq = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        _steps = new long[_parameters.Length];
    }

    /// <summary>Learning rate of the next <see cref="Step"/> (schedules set it before each step).</summary>
    public double LearningRate { get; set; }

    /// <summary>The optimized parameters, in order.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Zeroes every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var p in _parameters)
        {
            using var grad = p.grad;
            grad?.zero_();
        }
    }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        double lr = LearningRate;
        using var decay = (1 - lr * _weightDecay).ToScalar();
        using var beta1 = _beta1.ToScalar();
        using var beta2 = _beta2.ToScalar();
        using var oneMinusBeta1 = (1 - _beta1).ToScalar();
        using var oneMinusBeta2 = (1 - _beta2).ToScalar();
        using var epsilon = _epsilon.ToScalar();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var param = _parameters[i];
            var grad = param.grad;
            if (grad is null)
            {
                continue;
            }

            long step = ++_steps[i];
            param.mul_(decay);
            double biasCorrection1 = 1 - Math.Pow(_beta1, step);
            double biasCorrection2 = 1 - Math.Pow(_beta2, step);
            _expAvg[i].mul_(beta1).add_(grad, oneMinusBeta1);
            _expAvgSq[i].mul_(beta2).addcmul_(grad, grad, oneMinusBeta2);
            using var sqrtCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
            using var stepSize = (-(lr / biasCorrection1)).ToScalar();
            var denom = (_expAvgSq[i].sqrt() / sqrtCorrection2).add_(epsilon, Scalars.One);
            param.addcdiv_(_expAvg[i], denom, stepSize);
        }
    }

    /// <summary>The state of parameter <paramref name="index"/>: step count and moments (views the optimizer owns).</summary>
    internal (long Step, Tensor ExpAvg, Tensor ExpAvgSq) StateAt(int index) => (_steps[index], _expAvg[index], _expAvgSq[index]);

    /// <summary>Restores the state of parameter <paramref name="index"/> (moments are copied in).</summary>
    internal void SetState(int index, long step, Tensor expAvg, Tensor expAvgSq)
    {
        using var noGrad = no_grad();
        _expAvg[index].copy_(expAvg);
        _expAvgSq[index].copy_(expAvgSq);
        _steps[index] = step;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var t in _expAvg.Concat(_expAvgSq))
        {
            t.Dispose();
        }
    }
}
