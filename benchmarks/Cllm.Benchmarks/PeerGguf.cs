using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Cllm.Tools;
using LLama;
using LLama.Native;

namespace Cllm.Benchmarks;

/// <summary>
/// The GGUF files of the llama.cpp side: F32 and F16 from the exporter (<c>cllm export</c>'s), Q8_0 and Q4_0 by
/// llama.cpp's own quantizer (<c>llama_model_quantize</c>, what <c>llama-quantize</c> runs) from the F32 export, so the
/// quantized files are the ones a llama.cpp user makes (its choice of types per tensor included).
/// </summary>
internal static class PeerGguf
{
    /// <summary>
    /// Writes one GGUF per type into <paramref name="directory"/>; the F32 export made only as the quantizer's input is
    /// deleted. With <paramref name="reuse"/>, a file already there under its type's name (<c>model-q8_0.gguf</c>) is
    /// taken as it is: the caller keeps one directory per model.
    /// </summary>
    public static IReadOnlyList<(LlamaWeightType Type, string Path)> Make(string modelFolder, bool placeholderVocabulary, IReadOnlyList<LlamaWeightType> types, string directory, int threads, bool reuse = false)
    {
        string PathOf(LlamaWeightType type) => Path.Combine(directory, $"model-{PeerFormats.Label(type)}.gguf");
        var missing = types.Where(t => !reuse || !File.Exists(PathOf(t))).ToList();
        string f32 = PathOf(LlamaWeightType.F32);
        bool needF32 = missing.Any(t => t is LlamaWeightType.F32 or LlamaWeightType.Q8_0 or LlamaWeightType.Q4_0);
        if (needF32)
        {
            GgufExporter.Export(modelFolder, f32, GgufFileType.F32, placeholderVocabulary);   // written atomically
        }

        var files = new List<(LlamaWeightType, string)>();
        foreach (var type in types)
        {
            string path = PathOf(type);
            if (!missing.Contains(type))
            {
                files.Add((type, path));
                continue;
            }

            switch (type)
            {
                case LlamaWeightType.F32:
                    break;
                case LlamaWeightType.F16:
                    GgufExporter.Export(modelFolder, path, GgufFileType.F16, placeholderVocabulary);
                    break;
                default:
                    Quantize(f32, path, type == LlamaWeightType.Q8_0 ? LLamaFtype.MOSTLY_Q8_0 : LLamaFtype.MOSTLY_Q4_0, threads);
                    break;
            }

            files.Add((type, path));
        }

        if (needF32 && !types.Contains(LlamaWeightType.F32))
        {
            File.Delete(f32);
        }

        return files;
    }

    /// <summary>llama.cpp's quantizer from <paramref name="source"/> to <paramref name="target"/>, written under a temporary name and then renamed (a run cut short leaves no file for --gguf-dir to reuse).</summary>
    public static void Quantize(string source, string target, LLamaFtype type, int threads)
    {
        LlamaSharpGreedy.QuietLogs();
        NativeApi.llama_empty_call();                                                       // loads the native library (the quantizer's own calls do not)
        string partial = target + ".partial";
        if (!LLamaQuantizer.Quantize(source, partial, type, threads))
        {
            File.Delete(partial);
            throw new InvalidOperationException($"llama.cpp could not quantize {Path.GetFileName(source)} to {type}.");
        }

        File.Move(partial, target, overwrite: true);
    }
}
