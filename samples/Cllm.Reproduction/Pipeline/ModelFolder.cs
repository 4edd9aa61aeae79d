using System;
using Cllm.Checkpoints;
using Cllm.Modeling;

namespace Cllm.Reproduction.Pipeline;

/// <summary>Loads a Hugging Face model folder into a float32 model in evaluation mode.</summary>
public static class ModelFolder
{
    /// <summary>The model stored in <paramref name="path"/> (any stored float type is converted to float32).</summary>
    public static LlamaForCausalLM Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var directory = HfModelDirectory.Open(path);
        var config = directory.ReadConfig();
        var model = new LlamaForCausalLM(config);
        try
        {
            CheckpointLoader.LoadWeights(model, directory, config.TieWordEmbeddings);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        model.eval();
        return model;
    }
}
