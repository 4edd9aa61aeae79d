using Cllm.Core;

namespace Cllm.Reproduction.Pipeline;

/// <summary>Loads a Hugging Face model folder into a float32 model in evaluation mode (weights only; the pipeline sets threads).</summary>
public static class ModelFolder
{
    private static readonly PretrainedModelOptions WeightsOnly = new() { LoadTokenizer = false, SingleThreadForSmallModels = false };

    /// <summary>The model stored in <paramref name="path"/> (any stored float type is converted to float32); the caller owns it.</summary>
    public static LlamaForCausalLM Load(string path) => PretrainedModel.Load(path, WeightsOnly).Model;

    /// <summary>The same with the projections quantized as they load (CPU inference only).</summary>
    public static LlamaForCausalLM Load(string path, WeightQuantization quantization) => PretrainedModel.Load(path, WeightsOnly with { Quantization = quantization }).Model;
}
