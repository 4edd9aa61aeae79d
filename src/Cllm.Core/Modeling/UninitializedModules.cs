using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// Linear layers for a model whose weights a checkpoint is about to overwrite: the same TorchSharp type and state-dict
/// names, but with <c>initialize</c> false the parameters come from <c>torch.empty</c> instead of kaiming init (which
/// took ~40 s for the 1.0B Linear parameters of a 1.1B model on 2 busy cores). Embeddings keep their init
/// (Embedding_from_pretrained does not keep the dtype; the (V, C) init is a small share). Uninitialised memory is
/// garbage: use it only when every parameter is loaded next.
/// </summary>
internal static class UninitializedModules
{
    /// <summary>nn.Linear(in, out) with weight (out, in) and optional bias (out).</summary>
    public static Linear Linear(long inputSize, long outputSize, bool hasBias, ScalarType dtype, bool initialize)
    {
        if (initialize)
        {
            return nn.Linear(inputSize, outputSize, hasBias, dtype: dtype);
        }

        var linear = nn.Linear(1, 1, hasBias, dtype: dtype);                               // a 1×1 init, then the real-size parameters
        linear.weight = new Parameter(empty(outputSize, inputSize, dtype: dtype));
        if (hasBias)
        {
            linear.bias = new Parameter(empty(outputSize, dtype: dtype));
        }

        return linear;
    }
}
