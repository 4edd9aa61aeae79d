using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Core;
using Cllm.Tools;

namespace Cllm.Benchmarks.Tests;

/// <summary>
/// The F32 GGUF export decoded greedily by llama.cpp (LLamaSharp, F32 KV cache, no flash attention) gives the ids that
/// Cllm's greedy decoding gives, on the same prompt ids: the export carries the same model, RoPE order included.
/// </summary>
public sealed class LlamaCppExactnessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cllm-llamacpp-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Sql_cllm_export_decodes_to_cllm_greedy_ids()
    {
        var root = RepositoryRoot();
        var prompts = File.ReadLines(Path.Combine(root.FullName, "samples", "data", "sql-test.jsonl")).Take(4)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("prompt").GetString()!).ToList();
        AssertSameGreedyIds(Path.Combine(root.FullName, "samples", "models", "sql-cllm"), prompts, maxNewTokens: 64);
    }

    [Fact]
    public void Stories260k_export_decodes_to_cllm_greedy_ids()
    {
        var folder = Path.Combine(RepositoryRoot().FullName, "samples", "models", "stories260K");
        AssertSameGreedyIds(folder, new[] { "Once upon a time", "The little dog", "Lily and Tom went to the park. They" }, maxNewTokens: 96);
    }

    [Theory]
    [InlineData(GgufFileType.F16)]
    [InlineData(GgufFileType.Q8_0)]
    public void Sql_cllm_f16_and_q8_0_exports_load_in_llama_cpp_and_mostly_agree_with_cllm(GgufFileType type)
    {
        // Not exact by construction (llama.cpp multiplies these types in reduced precision), so: the file loads, and the
        // greedy ids agree with Cllm's F32 ids on most positions of the first prompt.
        var root = RepositoryRoot();
        var folder = Path.Combine(root.FullName, "samples", "models", "sql-cllm");
        var prompt = JsonDocument.Parse(File.ReadLines(Path.Combine(root.FullName, "samples", "data", "sql-test.jsonl")).First()).RootElement.GetProperty("prompt").GetString()!;
        var gguf = Path.Combine(_dir, $"model-{type}.gguf");
        GgufExporter.Export(folder, gguf, type);
        TorchSharp.torch.set_num_threads(1);
        using var engine = CllmBuilder.FromCheckpoint(folder).Build();
        using var peer = new LlamaSharpGreedy(gguf, threads: 1, engine.Model.Config.MaxPositionEmbeddings);
        var request = engine.CreateRequest(prompt, new GenerationOptions { MaxNewTokens = 48 });
        var cllm = DecoderOptions.Autoregressive.CreateDecoder(engine.Model).DecodeToEnd(request).OutputIds;
        var (llama, _, _, _) = peer.Decode(request.PromptIds, (request.Options.MaxNewTokens ?? GenerationOptions.DefaultMaxNewTokens), (request.Options.StopTokenIds ?? Array.Empty<int>()));
        int agree = cllm.Zip(llama).TakeWhile(p => p.First == p.Second).Count();
        Assert.True(agree >= Math.Min(cllm.Count, 8), $"{type}: only the first {agree} of {cllm.Count} ids agree");
    }

    private void AssertSameGreedyIds(string modelFolder, IReadOnlyList<string> prompts, int maxNewTokens)
    {
        var gguf = Path.Combine(_dir, "model.gguf");
        GgufExporter.Export(modelFolder, gguf, GgufFileType.F32);
        TorchSharp.torch.set_num_threads(1);
        using var engine = CllmBuilder.FromCheckpoint(modelFolder).Build();
        using var peer = new LlamaSharpGreedy(gguf, threads: 1, engine.Model.Config.MaxPositionEmbeddings);
        Assert.Equal(engine.Model.Config.VocabSize, peer.VocabSize);
        var ar = DecoderOptions.Autoregressive.CreateDecoder(engine.Model);
        var jacobi = DecoderOptions.Parse("jacobi:16").CreateDecoder(engine.Model);
        int total = 0;
        foreach (var prompt in prompts)
        {
            var request = engine.CreateRequest(prompt, new GenerationOptions { MaxNewTokens = maxNewTokens });
            var cllm = ar.DecodeToEnd(request).OutputIds;
            var (llama, _, _, _) = peer.Decode(request.PromptIds, (request.Options.MaxNewTokens ?? GenerationOptions.DefaultMaxNewTokens), (request.Options.StopTokenIds ?? Array.Empty<int>()));
            Assert.True(cllm.Count > 0, $"'{prompt}': no tokens generated");
            Assert.Equal(cllm, llama);
            Assert.Equal(llama, jacobi.DecodeToEnd(request).OutputIds);
            total += llama.Length;
        }

        Assert.True(total >= prompts.Count * 8, $"only {total} tokens compared");
    }

    internal static DirectoryInfo RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Cllm.sln")))
        {
            dir = dir.Parent;
        }

        return dir ?? throw new InvalidOperationException("Cllm.sln not found above " + AppContext.BaseDirectory);
    }
}
