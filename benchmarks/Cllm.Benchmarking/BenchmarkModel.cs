using System;
using Cllm.Core;

namespace Cllm.Benchmarking;

/// <summary>A model taking part in a benchmark, with the label its rows carry (e.g. <c>base</c>, <c>cllm</c>).</summary>
/// <param name="Label">Row label; unique within one benchmark.</param>
/// <param name="Model">The loaded model; the caller keeps ownership.</param>
/// <param name="TorchThreads">libtorch's intra-op threads while this model decodes (set before each of its requests), or
/// null to leave them: models of one run may want different counts. A model whose projections run on kernel workers of
/// their own (int4a8, packed bf16) always gets one, whatever is given: libtorch's spinning workers would take their cores.</param>
public sealed record BenchmarkModel(string Label, LlamaForCausalLM Model, int? TorchThreads = null)
{
    /// <summary>The label, checked.</summary>
    public string Label { get; } = string.IsNullOrWhiteSpace(Label) ? throw new ArgumentException("a benchmark model needs a label.", nameof(Label)) : Label;

    /// <summary>The model, checked.</summary>
    public LlamaForCausalLM Model { get; } = Model ?? throw new ArgumentNullException(nameof(Model));

    /// <summary>The threads, one for a model with kernel workers of its own.</summary>
    public int? TorchThreads { get; } = Model is { KernelThreads: > 0 } ? 1 : TorchThreads;
}
