using System;
using Cllm.Core;

namespace Cllm.Benchmarking;

/// <summary>A model taking part in a benchmark, with the label its rows carry (e.g. <c>base</c>, <c>cllm</c>).</summary>
/// <param name="Label">Row label; unique within one benchmark.</param>
/// <param name="Model">The loaded model; the caller keeps ownership.</param>
public sealed record BenchmarkModel(string Label, LlamaForCausalLM Model)
{
    /// <summary>The label, checked.</summary>
    public string Label { get; } = string.IsNullOrWhiteSpace(Label) ? throw new ArgumentException("a benchmark model needs a label.", nameof(Label)) : Label;

    /// <summary>The model, checked.</summary>
    public LlamaForCausalLM Model { get; } = Model ?? throw new ArgumentNullException(nameof(Model));
}
