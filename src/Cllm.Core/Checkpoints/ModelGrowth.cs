using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// Function-preserving growth: embeds a trained LLaMA-family model (d = hidden, H heads, Hkv kv heads, F MLP units,
/// L layers) in a larger shape (D, H', Hkv', F', L') that computes the same logits. The head size is kept (so rotary
/// is unchanged); every original query head is placed where it reads (a copy of) its original kv head; every added
/// row and column of embeddings, projections and MLP units is zero; RMSNorm weights are multiplied by sqrt(d/D) and
/// the norm eps by d/D, because this model's norm is x / sqrt(mean(x²) + eps) · w and the mean square of a vector
/// zero-padded from d to D dimensions is d/D times its mean over d, so
/// sqrt(d/D) / sqrt((d/D)(m + eps)) = 1 / sqrt(m + eps); added layers are all zero, so the residual stream passes
/// through them unchanged (their attention reads zero values, their MLP zero units). The vocabulary is unchanged.
/// The grown folder is written one tensor at a time: peak extra memory is about one target tensor.
/// </summary>
internal static class ModelGrowth
{
    /// <summary>The shapes <c>cllm grow --shape</c> accepts, for messages.</summary>
    public const string ShapeNames = "tinyllama-1.1b, llama-7b, <hidden>x<layers>[x<heads>x<kvheads>x<intermediate>]";

    /// <summary>
    /// The grown config for <paramref name="shape"/>: a named shape (TinyLlama-1.1B: hidden 2048, 22 layers, SwiGLU
    /// 5632, 8 query heads per kv head; LLaMA-7B: hidden 4096, 32 layers, SwiGLU 11008, no grouping), or
    /// <c>HIDDENxLAYERS</c> (heads = hidden / the source's head size, the source's query heads per kv head,
    /// intermediate scaled with hidden), or <c>HIDDENxLAYERSxHEADSxKVHEADSxINTERMEDIATE</c>. Heads always have the
    /// source's head size; vocabulary, context, rotary, biases and tying are the source's.
    /// </summary>
    /// <exception cref="ArgumentException">One line naming <c>--shape</c>: unknown or malformed, or not a growth of the source.</exception>
    public static LlamaConfig TargetConfig(LlamaConfig source, string shape)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrWhiteSpace(shape);
        int headDim = source.HeadDim;
        int group = source.NumAttentionHeads / source.NumKeyValueHeads;
        int hidden, layers, intermediate;
        int? heads = null, kvHeads = null, kvGroup = null;
        switch (shape.Trim().ToLowerInvariant())
        {
            case "tinyllama-1.1b":
                (hidden, layers, intermediate, kvGroup) = (2048, 22, 5632, 8);
                break;
            case "llama-7b":
                (hidden, layers, intermediate, kvGroup) = (4096, 32, 11008, 1);
                break;
            default:
                var parts = shape.Trim().Split('x', 'X');
                var numbers = parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : -1).ToArray();
                if (parts.Length is not (2 or 5) || numbers.Any(n => n < 0))
                {
                    throw new ArgumentException($"--shape: '{shape}' is not one of {ShapeNames} (positive integers).");
                }

                (hidden, layers) = (numbers[0], numbers[1]);
                intermediate = parts.Length == 5 ? numbers[4] : checked((int)(((long)source.IntermediateSize * hidden + source.HiddenSize - 1) / source.HiddenSize));
                if (parts.Length == 5)
                {
                    (heads, kvHeads) = (numbers[2], numbers[3]);
                }
                else
                {
                    kvGroup = group;
                }

                break;
        }

        if (hidden % headDim != 0)
        {
            throw new ArgumentException($"--shape: hidden size {hidden} is not a multiple of the source's head size {headDim} (growth keeps the head size).");
        }

        int h = heads ?? hidden / headDim;
        if (kvHeads is null && h % kvGroup!.Value != 0)
        {
            throw new ArgumentException($"--shape: {h} heads of {headDim} cannot be grouped {kvGroup} query heads per kv head; give the heads explicitly (HIDDENxLAYERSxHEADSxKVHEADSxINTERMEDIATE).");
        }

        int kv = kvHeads ?? h / kvGroup!.Value;
        void AtLeast(int target, int original, string what)
        {
            if (target < original)
            {
                throw new ArgumentException($"--shape: {what} {target} is smaller than the source's {original}; growth only adds.");
            }
        }

        AtLeast(hidden, source.HiddenSize, "hidden size");
        AtLeast(layers, source.NumHiddenLayers, "layer count");
        AtLeast(intermediate, source.IntermediateSize, "intermediate size");
        AtLeast(h, source.NumAttentionHeads, "head count");
        AtLeast(kv, source.NumKeyValueHeads, "kv head count");
        if (h % kv != 0)
        {
            throw new ArgumentException($"--shape: {h} heads are not divisible by {kv} kv heads.");
        }

        int copies = KvCopies(group, h / kv);
        if ((long)source.NumKeyValueHeads * copies > kv)
        {
            throw new ArgumentException($"--shape: {kv} kv heads of {h / kv} query heads each cannot hold the source's {source.NumKeyValueHeads} kv heads of {group} query heads each (needs {source.NumKeyValueHeads * copies} kv heads).");
        }

        var target = source with
        {
            HiddenSize = hidden,
            IntermediateSize = intermediate,
            NumHiddenLayers = layers,
            NumAttentionHeads = h,
            NumKeyValueHeads = kv,
            HeadDimOverride = source.HeadDimOverride is not null || (long)h * headDim != hidden ? headDim : null,
            RmsNormEps = source.RmsNormEps * source.HiddenSize / hidden,
        };
        target.Validate();
        return target;
    }

    /// <summary>
    /// Writes the grown model of <paramref name="sourceFolder"/> at shape <paramref name="target"/> (from
    /// <see cref="TargetConfig"/>) to <paramref name="outputFolder"/> as a Hugging Face folder stored as
    /// <paramref name="dtype"/>: config.json (torch_dtype set), generation_config.json and the tokenizer files copied (when present),
    /// model.safetensors written tensor by tensor (each built in float32 from the source's tensors, then converted).
    /// </summary>
    public static void Write(string sourceFolder, LlamaConfig target, string outputFolder, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(target);
        var directory = HfModelDirectory.Open(sourceFolder);
        var source = directory.ReadConfig();
        var plan = new Plan(source, target);
        var files = directory.WeightFiles.Select(SafetensorsFile.Open).ToList();
        Tensor Read(string name)
        {
            var file = files.FirstOrDefault(f => f.Tensors.ContainsKey(name))
                ?? throw new CheckpointException(directory.WeightsPath, $"no tensor named '{name}'");
            return file.ReadTensor(name, ScalarType.Float32);
        }

        var saved = target with { TorchDtype = CheckpointWriter.TorchDtypeName(dtype) };
        HfConfigWriter.CheckExpressible(saved);
        var folder = Path.GetFullPath(outputFolder);
        Directory.CreateDirectory(folder);
        var entries = LlamaTensorShapes.Expected(target)
            .Select(e => (e.Name, e.Shape, dtype, (Func<Tensor>)(() => plan.Build(e.Name, e.Shape, Read))));
        SafetensorsWriter.WriteGenerated(Path.Combine(folder, HfModelDirectory.SingleWeightsFileName), entries);
        HfConfigWriter.Write(saved, Path.Combine(folder, HfModelDirectory.ConfigFileName));
        if (directory.TokenizerFiles.Count > 0)
        {
            CheckpointWriter.CopyTokenizerFiles(directory.Path, folder, saved);
        }
        else
        {
            HfConfigWriter.WriteGenerationConfig(saved, Path.Combine(folder, HfModelDirectory.GenerationConfigFileName));
        }
    }

    /// <summary>Target kv heads per source kv head: 1 when a target group holds a source group, else enough groups to hold it.</summary>
    private static int KvCopies(int sourceGroup, int targetGroup) => (sourceGroup + targetGroup - 1) / targetGroup;

    /// <summary>Where each source head goes and how each target tensor is built from the source's.</summary>
    private sealed class Plan
    {
        private readonly LlamaConfig _source;
        private readonly LlamaConfig _target;
        private readonly int[] _queryHead;    // source query head i → target query head
        private readonly int[] _kvSource;     // target kv head → source kv head it copies, or -1 (zero)

        public Plan(LlamaConfig source, LlamaConfig target)
        {
            if (source.HeadDim != target.HeadDim || source.VocabSize != target.VocabSize || source.TieWordEmbeddings != target.TieWordEmbeddings
                || source.AttentionBias != target.AttentionBias || source.MlpBias != target.MlpBias || source.ModelType != target.ModelType)
            {
                throw new ArgumentException("growth keeps head size, vocabulary, tying, biases and model type; the target config changes one of them.", nameof(target));
            }

            _source = source;
            _target = target;
            int group = source.NumAttentionHeads / source.NumKeyValueHeads, targetGroup = target.NumAttentionHeads / target.NumKeyValueHeads;
            int copies = KvCopies(group, targetGroup);
            _kvSource = Enumerable.Repeat(-1, target.NumKeyValueHeads).ToArray();
            for (int slot = 0; slot < source.NumKeyValueHeads * copies; slot++)
            {
                _kvSource[slot] = slot / copies;
            }

            // Source query head i reads kv head j = i / group; as the r-th of its group it goes to copy r / targetGroup
            // of kv head j (target kv slot j·copies + r / targetGroup), at place r % targetGroup in that slot's group.
            _queryHead = Enumerable.Range(0, source.NumAttentionHeads)
                .Select(i => ((i / group * copies) + (i % group / targetGroup)) * targetGroup + (i % group % targetGroup))
                .ToArray();
        }

        /// <summary>The float32 target tensor <paramref name="name"/> of <paramref name="shape"/>.</summary>
        public Tensor Build(string name, long[] shape, Func<string, Tensor> read)
        {
            var grown = zeros(shape, dtype: ScalarType.Float32);
            int layer = LayerOf(name);
            if (layer >= _source.NumHiddenLayers)
            {
                return grown;                                                    // an added layer: all zero
            }

            using var original = read(name);
            long d = _source.HiddenSize, hd = _source.HeadDim;
            string leaf = layer < 0 ? name : name[(name.IndexOf('.', "model.layers.".Length) + 1)..];
            switch (leaf)
            {
                case "model.embed_tokens.weight" or "lm_head.weight":            // (V, d) → (V, D)
                    grown.narrow(1, 0, d).copy_(original);
                    break;
                case "model.norm.weight" or "input_layernorm.weight" or "post_attention_layernorm.weight":
                    using (var scale = Math.Sqrt((double)d / _target.HiddenSize).ToScalar())
                    {
                        grown.narrow(0, 0, d).copy_(original).mul_(scale);        // (d) · sqrt(d/D), zeros after
                    }

                    break;
                case "self_attn.q_proj.weight" or "self_attn.q_proj.bias":       // (H·hd[, d]) → (H'·hd[, D])
                    PlaceHeads(grown, original, _queryHead.Select((to, from) => (from, to)), hd, d, headAxis: 0);
                    break;
                case "self_attn.k_proj.weight" or "self_attn.v_proj.weight" or "self_attn.k_proj.bias" or "self_attn.v_proj.bias":
                    PlaceHeads(grown, original, _kvSource.Select((from, to) => (from, to)).Where(p => p.from >= 0), hd, d, headAxis: 0);
                    break;
                case "self_attn.o_proj.weight":                                   // (d, H·hd) → (D, H'·hd)
                    PlaceHeads(grown, original, _queryHead.Select((to, from) => (from, to)), hd, d, headAxis: 1);
                    break;
                default:                                                          // MLP weights and biases, o_proj bias: zero-pad every axis
                    var corner = grown;
                    for (int axis = 0; axis < original.dim(); axis++)
                    {
                        corner = corner.narrow(axis, 0, original.shape[axis]);
                    }

                    corner.copy_(original);
                    break;
            }

            return grown;
        }

        /// <summary>
        /// Copies head blocks of <paramref name="hd"/> rows (<paramref name="headAxis"/> 0: q/k/v weight or bias) or
        /// columns (1: o_proj) from source head <c>from</c> to target head <c>to</c>; the hidden axis keeps its first d.
        /// </summary>
        private static void PlaceHeads(Tensor grown, Tensor original, IEnumerable<(int From, int To)> moves, long hd, long d, int headAxis)
        {
            foreach (var (from, to) in moves)
            {
                var block = original.narrow(headAxis, from * hd, hd);
                var place = grown.narrow(headAxis, to * hd, hd);
                if (original.dim() == 2)
                {
                    place = place.narrow(1 - headAxis, 0, d);
                }

                place.copy_(block);
            }
        }

        /// <summary>The layer index of a <c>model.layers.N.</c> name, or -1.</summary>
        private static int LayerOf(string name)
        {
            const string prefix = "model.layers.";
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return -1;
            }

            int end = name.IndexOf('.', prefix.Length);
            return int.Parse(name.AsSpan(prefix.Length, end - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture);
        }
    }
}
