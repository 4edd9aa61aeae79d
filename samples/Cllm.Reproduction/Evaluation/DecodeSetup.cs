using Cllm.Core;

namespace Cllm.Reproduction.Evaluation;

/// <summary>One row of the evaluation: a model (base or CLLM) decoded by one decoder.</summary>
/// <param name="ModelName">"base" or "cllm".</param>
/// <param name="Model">The weights.</param>
/// <param name="Decoder">The decoder settings.</param>
public sealed record DecodeSetup(string ModelName, LlamaForCausalLM Model, DecoderOptions Decoder)
{
    /// <summary>"cllm jacobi:16".</summary>
    public string Label => $"{ModelName} {Decoder.Label}";
}
