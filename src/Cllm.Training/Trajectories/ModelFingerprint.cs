using System;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using Cllm.Core;

namespace Cllm.Training;

/// <summary>
/// What a collection's token ids mean: a digest of the model folder's vocabulary files (<c>tokenizer.json</c>,
/// <c>tokenizer.model</c>) and of its config shape (model type, vocabulary, hidden and MLP sizes, layers, heads), with the
/// folder's name for messages. <c>cllm collect</c> writes it into every record's <c>collect_settings</c>; <c>cllm train</c>
/// refuses records whose digest is not the one of its <c>--model</c>. Weights are not part of it, so a model trained from
/// the collecting one (same tokenizer, same shape) matches, and the context length is not either (it does not change
/// what an id means).
/// </summary>
internal sealed record ModelFingerprint(string Name, string Digest)
{
    private static readonly string[] VocabularyFiles = { "tokenizer.json", "tokenizer.model" };

    /// <summary>The fingerprint of the model in <paramref name="modelDirectory"/> whose config is <paramref name="config"/>.</summary>
    public static ModelFingerprint Of(string modelDirectory, LlamaConfig config)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelDirectory);
        ArgumentNullException.ThrowIfNull(config);
        string folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelDirectory));
        var text = new StringBuilder("cllm-model-fingerprint-1\n");
        text.Append(CultureInfo.InvariantCulture,
            $"{config.ModelType} vocab {config.VocabSize} hidden {config.HiddenSize} intermediate {config.IntermediateSize} layers {config.NumHiddenLayers} heads {config.NumAttentionHeads}/{config.NumKeyValueHeads} head_dim {config.HeadDimOverride?.ToString(CultureInfo.InvariantCulture) ?? "-"}\n");
        foreach (var name in VocabularyFiles)
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path))
            {
                using var stream = File.OpenRead(path);
                text.Append(name).Append(' ').Append(Convert.ToHexStringLower(SHA256.HashData(stream))).Append('\n');
            }
        }

        string digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
        return new ModelFingerprint(Path.GetFileName(folder), digest);
    }

    /// <summary>"name (fingerprint digest)".</summary>
    public override string ToString() => $"{Name} (fingerprint {Digest})";
}
