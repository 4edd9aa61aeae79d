using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.TestKit;

/// <summary>Seeded random-weight LLaMA models for tests.</summary>
internal static class TinyLlama
{
    /// <summary>A small GQA config: dim 64, 2 layers, 4 heads / 2 KV heads, vocab 97.</summary>
    public static LlamaConfig Config(int vocab = 97, int layers = 2, int context = 256, bool tied = false) => new()
    {
        VocabSize = vocab,
        HiddenSize = 64,
        IntermediateSize = 128,
        NumHiddenLayers = layers,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        MaxPositionEmbeddings = context,
        RmsNormEps = 1e-5,
        TieWordEmbeddings = tied,
        EosTokenIds = new[] { 2 },
        BosTokenId = 1,
    };

    /// <summary>
    /// A model with weights drawn from its own seeded generator (not torch's process-wide one, which tests running in
    /// parallel also draw from), so the same seed gives the same weights whatever else runs; logits are spread wide
    /// enough to avoid near-ties.
    /// </summary>
    public static LlamaForCausalLM Create(int seed, LlamaConfig? config = null)
    {
        var model = new LlamaForCausalLM(config ?? Config());
        using var generator = new Generator(checked((ulong)seed));
        using (no_grad())
        {
            foreach (var (name, p) in model.state_dict())
            {
                if (name.EndsWith("norm.weight", System.StringComparison.Ordinal))
                {
                    continue;
                }

                using var drawn = empty(p.shape, dtype: p.dtype).normal_(0, name.Contains("embed", System.StringComparison.Ordinal) ? 1.0 : 0.15, generator);
                p.copy_(drawn);                                                             // drawn in the Hugging Face layout, whatever the parameter's
            }
        }

        model.eval();
        return model;
    }
}
