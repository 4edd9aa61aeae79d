using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Core;

namespace Cllm.Benchmarks.Tests;

/// <summary>
/// The peer benchmark's weight-format options on sql-cllm: the lists parse and bad values fail with one line naming the
/// flag before anything is loaded; llama.cpp's quantizer makes Q8_0/Q4_0 files that load and decode; a whole run of int8
/// against Q8_0 checks each Cllm decoder against its own AR.
/// </summary>
[Collection(ConsoleCapture.Name)]
public sealed class PeerFormatsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cllm-peer-formats-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Format_lists_parse_in_order()
    {
        Assert.Equal(new[] { WeightQuantization.None, WeightQuantization.Int8, WeightQuantization.Int4 }, PeerFormats.ParseQuantizations(" none, INT8 ,int4"));
        Assert.Equal(new[] { LlamaWeightType.Q4_0, LlamaWeightType.F32 }, PeerFormats.ParseGgufTypes("q4_0,f32"));
        Assert.Equal(TorchSharp.torch.ScalarType.BFloat16, PeerFormats.ParseDType("bfloat16"));
        Assert.Equal("bf16+int4", PeerFormats.Label(TorchSharp.torch.ScalarType.BFloat16, WeightQuantization.Int4));
        Assert.Equal("q8_0", PeerFormats.Label(LlamaWeightType.Q8_0));
    }

    [Theory]
    [InlineData("--quantize", "int3", "--quantize: 'int3' is not one of none, int8, int4, int4a8, bf16.")]
    [InlineData("--quantize", "int8,none,int8", "--quantize: 'int8' is given twice.")]
    [InlineData("--gguf-type", "q4_k_m", "--gguf-type: 'q4_k_m' is not one of f32, f16, q8_0, q4_0.")]
    [InlineData("--gguf-type", ",", "--gguf-type: give at least one of f32, f16, q8_0, q4_0.")]
    [InlineData("--dtype", "float16", "--dtype: 'float16' is not one of float32, bfloat16.")]
    public void A_bad_format_fails_with_one_line_before_anything_is_loaded(string flag, string value, string message)
    {
        var (code, output, error) = ConsoleCapture.Run("--model", SqlCllm, "--prompts", "no-such-file.jsonl", flag, value);
        Assert.Equal(1, code);
        Assert.Equal($"error: {message}", error.Trim());
        Assert.Empty(output);                                                             // nothing loaded, nothing measured
    }

    [Fact]
    public void Llama_cpp_quantizer_makes_q8_0_and_q4_0_files_that_load_and_decode()
    {
        var files = PeerGguf.Make(SqlCllm, placeholderVocabulary: false, new[] { LlamaWeightType.Q8_0, LlamaWeightType.Q4_0, LlamaWeightType.F32 }, _dir, threads: 1);
        Assert.Equal(new[] { LlamaWeightType.Q8_0, LlamaWeightType.Q4_0, LlamaWeightType.F32 }, files.Select(f => f.Type));
        long f32 = new FileInfo(files[2].Path).Length, q8 = new FileInfo(files[0].Path).Length, q4 = new FileInfo(files[1].Path).Length;
        Assert.True(q8 < f32 * 0.45 && q4 < q8 * 0.8, $"sizes: f32 {f32}, q8_0 {q8}, q4_0 {q4} bytes");

        var prompt = JsonDocument.Parse(File.ReadLines(Path.Combine(Root, "samples", "data", "sql-test.jsonl")).First()).RootElement.GetProperty("prompt").GetString()!;
        TorchSharp.torch.set_num_threads(1);
        using var engine = CllmBuilder.FromCheckpoint(SqlCllm).WithThreads(1).Build();
        var request = engine.CreateRequest(prompt, new GenerationOptions { MaxNewTokens = 32 });
        var cllm = DecoderOptions.Autoregressive.CreateDecoder(engine.Model).DecodeToEnd(request).OutputIds;
        foreach (var (type, path) in files.Take(2))
        {
            using var peer = new LlamaSharpGreedy(path, threads: 1, engine.Model.Config.MaxPositionEmbeddings);
            Assert.Equal(engine.Model.Config.VocabSize, peer.VocabSize);
            var (ids, elapsed, prefill, forwards) = peer.Decode(request.PromptIds, 32, request.Options.StopTokenIds!);
            Assert.True(ids.Length >= 8 && forwards >= ids.Length && prefill > TimeSpan.Zero && prefill < elapsed, $"{type}: {ids.Length} ids in {forwards} forwards, prefill {prefill} of {elapsed}");
            Assert.All(ids, id => Assert.InRange(id, 0, engine.Model.Config.VocabSize - 1));
            if (type == LlamaWeightType.Q8_0)
            {
                // Not exact by construction (8-bit weights, and llama.cpp quantizes the activations to 8 bits too), but close.
                int agree = cllm.Zip(ids).TakeWhile(p => p.First == p.Second).Count();
                Assert.True(agree >= Math.Min(cllm.Count, 8), $"q8_0: only the first {agree} of {cllm.Count} ids agree with Cllm float32");
            }
        }
    }

    [Fact]
    public void A_run_of_int8_against_q8_0_checks_each_decoder_against_its_own_ar()
    {
        var (code, output, error) = ConsoleCapture.Run(
            "--model", SqlCllm, "--prompts", Path.Combine(Root, "samples", "data", "sql-test.jsonl"), "--requests", "2", "--rounds", "1",
            "--max-new-tokens", "16", "--decoders", "ar,jacobi:16", "--quantize", "none,int8", "--gguf-type", "q8_0");
        Assert.True(code == 0, $"exit {code}: {error}\n{output}");
        var rows = output.Split('\n').Select(l => l.TrimEnd()).ToList();
        string Row(string label) => rows.Single(l => l.StartsWith(label + " ", StringComparison.Ordinal));
        Assert.Contains("llama.cpp's ids are not expected to match", output, StringComparison.Ordinal);
        foreach (var label in new[] { "cllm f32 ar", "cllm f32 jacobi:16", "cllm f32+int8 ar", "cllm f32+int8 jacobi:16" })
        {
            var cells = Row(label).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("2/2", cells[^2]);                                               // = own AR
            Assert.Equal("-", cells[^3]);                                                 // = llama: not compared
        }

        var llama = Row("llama.cpp q8_0 AR").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("1.00x", llama[7]);                                                  // the reference of 'vs llama AR'
        Assert.True(double.Parse(llama[6], System.Globalization.CultureInfo.InvariantCulture) > 0, "decode tok/s");
    }

    private static string Root { get; } = LlamaCppExactnessTests.RepositoryRoot().FullName;

    private static string SqlCllm => Path.Combine(Root, "samples", "models", "sql-cllm");
}
