using System;
using System.IO;
using System.Linq;
using TorchSharp;

namespace Cllm.Core;

/// <summary>
/// Saves a TorchSharp model with Hugging Face names as a Hugging Face model folder that transformers and
/// <see cref="HfModelDirectory"/> can load.
/// </summary>
internal static class CheckpointWriter
{
    /// <summary>
    /// Writes <c>model.safetensors</c> (every <c>state_dict()</c> entry; a tied model simply has no
    /// <c>lm_head.weight</c>), <c>config.json</c> and <c>generation_config.json</c> into <paramref name="outputDir"/>,
    /// and copies the tokenizer files from <paramref name="copyTokenizerFrom"/>. Every file is written atomically
    /// (temporary file, flush, rename); existing files are replaced.
    /// </summary>
    /// <param name="model">A module whose state-dict names are the Hugging Face names.</param>
    /// <param name="config">The model's config. Its <c>torch_dtype</c> is set to the stored floating dtype.</param>
    /// <param name="outputDir">Target folder; created if missing.</param>
    /// <param name="copyTokenizerFrom">
    /// A folder to copy <c>tokenizer.model</c>, <c>tokenizer.json</c>, <c>tokenizer_config.json</c> and
    /// <c>special_tokens_map.json</c> from (those present; at least one of the first two must be). Its
    /// <c>generation_config.json</c>, when present, is copied instead of writing one from the config, so sampling
    /// defaults survive. Null copies nothing.
    /// </param>
    /// <param name="storeAs">Floating type to store floating tensors in (e.g. BFloat16); null keeps each tensor's type.</param>
    /// <exception cref="ArgumentException">
    /// The config does not validate or cannot be written for its model type, it declares untied embeddings while
    /// the model has no <c>lm_head.weight</c>, or <paramref name="storeAs"/> is not a floating type.
    /// </exception>
    /// <exception cref="CheckpointException">The tokenizer source is missing or holds no tokenizer, or a file cannot be written.</exception>
    public static void Save(torch.nn.Module model, LlamaConfig config, string outputDir, string? copyTokenizerFrom, torch.ScalarType? storeAs)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrEmpty(outputDir);
        HfConfigWriter.CheckExpressible(config);
        if (storeAs is { } requested && !SafetensorsDtypes.IsFloat(requested))
        {
            throw new ArgumentException($"storeAs must be a floating type (Float32, Float16, BFloat16, Float64), got {requested}.", nameof(storeAs));
        }

        var state = model.state_dict();
        if (!config.TieWordEmbeddings && !state.ContainsKey("lm_head.weight"))
        {
            throw new ArgumentException("config says the embeddings are not tied, but the model has no lm_head.weight; transformers would initialise the classifier randomly.", nameof(config));
        }

        var storedType = storeAs ?? state.Values.Select(t => t.dtype).FirstOrDefault(SafetensorsDtypes.IsFloat, torch.ScalarType.Float32);
        var savedConfig = config with { TorchDtype = TorchDtypeName(storedType) ?? config.TorchDtype };

        var folder = Path.GetFullPath(outputDir);
        var tokenizerSource = ResolveTokenizerSource(copyTokenizerFrom);
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(folder, $"cannot create the output folder: {ex.Message}", ex);
        }

        SafetensorsWriter.Write(Path.Combine(folder, HfModelDirectory.SingleWeightsFileName), state, storeAs);
        HfConfigWriter.Write(savedConfig, Path.Combine(folder, HfModelDirectory.ConfigFileName));

        if (tokenizerSource is null)
        {
            HfConfigWriter.WriteGenerationConfig(savedConfig, Path.Combine(folder, HfModelDirectory.GenerationConfigFileName));
        }
        else
        {
            CopyTokenizerFiles(tokenizerSource, folder, savedConfig);
        }
    }

    /// <summary>
    /// Copies the tokenizer files and <c>generation_config.json</c> present in <paramref name="tokenizerSource"/> into
    /// <paramref name="folder"/> (nothing when they are the same folder); without a source generation config one is
    /// written from <paramref name="savedConfig"/>.
    /// </summary>
    internal static void CopyTokenizerFiles(string tokenizerSource, string folder, LlamaConfig savedConfig)
    {
        tokenizerSource = ResolveTokenizerSource(tokenizerSource)!;
        folder = Path.GetFullPath(folder);
        var sameFolder = string.Equals(tokenizerSource, folder, StringComparison.Ordinal);
        var generationSource = Path.Combine(tokenizerSource, HfModelDirectory.GenerationConfigFileName);
        var generationTarget = Path.Combine(folder, HfModelDirectory.GenerationConfigFileName);
        if (File.Exists(generationSource))
        {
            if (!sameFolder)
            {
                AtomicFile.Copy(generationSource, generationTarget);
            }
        }
        else
        {
            HfConfigWriter.WriteGenerationConfig(savedConfig, generationTarget);
        }

        if (!sameFolder)
        {
            foreach (var name in HfModelDirectory.TokenizerFileNames)
            {
                var source = Path.Combine(tokenizerSource, name);
                if (File.Exists(source))
                {
                    AtomicFile.Copy(source, Path.Combine(folder, name));
                }
            }
        }
    }

    private static string? ResolveTokenizerSource(string? copyTokenizerFrom)
    {
        if (copyTokenizerFrom is null)
        {
            return null;
        }

        var source = Path.GetFullPath(copyTokenizerFrom);
        if (!Directory.Exists(source))
        {
            throw new CheckpointException(source, "tokenizer source folder not found");
        }

        if (!File.Exists(Path.Combine(source, "tokenizer.model")) && !File.Exists(Path.Combine(source, "tokenizer.json")))
        {
            throw new CheckpointException(source, "tokenizer source folder has neither tokenizer.model nor tokenizer.json");
        }

        return source;
    }

    /// <summary>The torch_dtype name of a floating type, or null.</summary>
    internal static string? TorchDtypeName(torch.ScalarType type) => type switch
    {
        torch.ScalarType.Float32 => "float32",
        torch.ScalarType.Float16 => "float16",
        torch.ScalarType.BFloat16 => "bfloat16",
        torch.ScalarType.Float64 => "float64",
        _ => null,
    };
}
