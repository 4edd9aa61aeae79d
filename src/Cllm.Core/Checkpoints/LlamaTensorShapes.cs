using System.Collections.Generic;
using System.Globalization;

namespace Cllm.Core;

/// <summary>
/// The Hugging Face tensor names and shapes a <see cref="LlamaConfig"/> implies, computed without building the model,
/// each with the config fields that fix its shape (for error messages). Matches <c>LlamaForCausalLM.state_dict()</c>
/// minus the tied classifier.
/// </summary>
internal static class LlamaTensorShapes
{
    /// <summary>(name, shape, "which config fields make that shape") for every tensor the loader will fill.</summary>
    public static IEnumerable<(string Name, long[] Shape, string Fields)> Expected(LlamaConfig config)
    {
        long c = config.HiddenSize, v = config.VocabSize, f = config.IntermediateSize;
        long q = (long)config.NumAttentionHeads * config.HeadDim, kv = (long)config.NumKeyValueHeads * config.HeadDim;
        string hidden = Field("hidden_size", c), vocab = Field("vocab_size", v), inter = Field("intermediate_size", f);
        string qText = $"num_attention_heads {config.NumAttentionHeads} × head_dim {config.HeadDim}";
        string kvText = $"num_key_value_heads {config.NumKeyValueHeads} × head_dim {config.HeadDim}";

        yield return ("model.embed_tokens.weight", new[] { v, c }, $"{vocab}, {hidden}");
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            string p = "model.layers." + i.ToString(CultureInfo.InvariantCulture) + ".";
            yield return (p + "self_attn.q_proj.weight", new[] { q, c }, $"{qText}, {hidden}");
            yield return (p + "self_attn.k_proj.weight", new[] { kv, c }, $"{kvText}, {hidden}");
            yield return (p + "self_attn.v_proj.weight", new[] { kv, c }, $"{kvText}, {hidden}");
            yield return (p + "self_attn.o_proj.weight", new[] { c, q }, $"{hidden}, {qText}");
            if (config.AttentionBias)
            {
                yield return (p + "self_attn.q_proj.bias", new[] { q }, qText);
                yield return (p + "self_attn.k_proj.bias", new[] { kv }, kvText);
                yield return (p + "self_attn.v_proj.bias", new[] { kv }, kvText);
            }

            if (config.AttentionOutputBias)
            {
                yield return (p + "self_attn.o_proj.bias", new[] { c }, hidden);
            }

            yield return (p + "mlp.gate_proj.weight", new[] { f, c }, $"{inter}, {hidden}");
            yield return (p + "mlp.up_proj.weight", new[] { f, c }, $"{inter}, {hidden}");
            yield return (p + "mlp.down_proj.weight", new[] { c, f }, $"{hidden}, {inter}");
            if (config.MlpBias)
            {
                yield return (p + "mlp.gate_proj.bias", new[] { f }, inter);
                yield return (p + "mlp.up_proj.bias", new[] { f }, inter);
                yield return (p + "mlp.down_proj.bias", new[] { c }, hidden);
            }

            yield return (p + "input_layernorm.weight", new[] { c }, hidden);
            yield return (p + "post_attention_layernorm.weight", new[] { c }, hidden);
        }

        yield return ("model.norm.weight", new[] { c }, hidden);
        if (!config.TieWordEmbeddings)
        {
            yield return ("lm_head.weight", new[] { v, c }, $"{vocab}, {hidden}");
        }
    }

    private static string Field(string name, long value) => name + " " + value.ToString(CultureInfo.InvariantCulture);
}
