using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Tools;
using TorchSharp;

namespace Cllm.Tests.Checkpoints;

/// <summary>The GGUF writer: file layout, metadata and tensors read back, the q/k RoPE permutation, Q8_0 blocks.</summary>
public sealed class GgufExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cllm-gguf-test-").FullName;

    private static string SqlCllm => Path.Combine(ShippedModels.RepositoryRoot, "samples", "models", "sql-cllm");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Rope_permutation_interleaves_the_halves_of_each_head_and_is_inverted_exactly()
    {
        // One head of 4 rows × 1 column: HF rows [x0, x1, y0, y1] pair (x_j, y_j); llama.cpp wants [x0, y0, x1, y1].
        Assert.Equal(new float[] { 10, 12, 11, 13 }, GgufRope.ToInterleaved(new float[] { 10, 11, 12, 13 }, heads: 1, columns: 1));

        var random = new Random(3);
        var weight = Enumerable.Range(0, 4 * 8 * 6).Select(_ => (float)random.NextDouble()).ToArray();    // 4 heads × 8 rows × 6 columns
        var interleaved = GgufRope.ToInterleaved(weight, heads: 4, columns: 6);
        Assert.NotEqual(weight, interleaved);
        Assert.Equal(weight, GgufRope.ToRotateHalf(interleaved, heads: 4, columns: 6));

        // Row 2j + t of head h comes from HF row h·8 + t·4 + j, whole rows moved.
        for (int h = 0; h < 4; h++)
        {
            for (int j = 0; j < 4; j++)
            {
                for (int t = 0; t < 2; t++)
                {
                    Assert.Equal(weight.AsSpan((h * 8 + t * 4 + j) * 6, 6).ToArray(), interleaved.AsSpan((h * 8 + 2 * j + t) * 6, 6).ToArray());
                }
            }
        }

        Assert.Throws<ArgumentException>(() => GgufRope.ToInterleaved(new float[6], heads: 1, columns: 2));    // 3 rows: odd head size
    }

    [Fact]
    public void Q8_0_blocks_hold_an_f16_scale_then_32_signed_bytes()
    {
        var values = new float[64];
        for (int i = 0; i < 32; i++)
        {
            values[i] = (i - 16) * 0.25f;                                            // block 0: max |x| = 4 at i = 0
        }

        var bytes = GgufEncoding.Q8_0(values);                                       // block 1 stays all zero
        Assert.Equal(2 * 34, bytes.Length);
        float d = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes);
        Assert.Equal((float)(Half)(4f / 127f), d);
        Assert.Equal(-127, (sbyte)bytes[2]);                                         // x = -4 → -127
        Assert.Equal(0, (sbyte)bytes[2 + 16]);                                       // x = 0
        Assert.Equal((sbyte)MathF.Round(0.25f * 127f / 4f, MidpointRounding.AwayFromZero), (sbyte)bytes[2 + 17]);
        Assert.Equal(0f, (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(34)));
        Assert.All(bytes.Skip(36), b => Assert.Equal(0, b));
        var back = GgufEncoding.DequantizeQ8_0(bytes);
        for (int i = 0; i < 64; i++)
        {
            Assert.True(MathF.Abs(back[i] - values[i]) <= 4f / 127f / 2 + 1e-3f, $"value {i}: {back[i]} vs {values[i]}");
        }

        Assert.Throws<ArgumentException>(() => GgufEncoding.Q8_0(new float[33]));
    }

    [Fact]
    public void F32_export_of_sql_cllm_reads_back_with_llama_layout_metadata_and_the_checkpoint_weights()
    {
        var path = Path.Combine(_dir, "sql.gguf");
        GgufExporter.Export(SqlCllm, path, GgufFileType.F32);
        var gguf = GgufReader.Read(path);
        var config = HfModelDirectory.Open(SqlCllm).ReadConfig();

        Assert.Equal(3u, gguf.Version);
        Assert.Equal("GGUF", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(path), 0, 4));
        Assert.Equal("llama", gguf.Metadata["general.architecture"].As<string>());
        Assert.Equal(0u, gguf.Metadata["general.file_type"].As<uint>());
        Assert.Equal(32u, gguf.Metadata["general.alignment"].As<uint>());
        Assert.Equal((uint)config.HiddenSize, gguf.Metadata["llama.embedding_length"].As<uint>());
        Assert.Equal((uint)config.NumHiddenLayers, gguf.Metadata["llama.block_count"].As<uint>());
        Assert.Equal((uint)config.IntermediateSize, gguf.Metadata["llama.feed_forward_length"].As<uint>());
        Assert.Equal((uint)config.NumAttentionHeads, gguf.Metadata["llama.attention.head_count"].As<uint>());
        Assert.Equal((uint)config.NumKeyValueHeads, gguf.Metadata["llama.attention.head_count_kv"].As<uint>());
        Assert.Equal((uint)config.HeadDim, gguf.Metadata["llama.rope.dimension_count"].As<uint>());
        Assert.Equal((uint)config.MaxPositionEmbeddings, gguf.Metadata["llama.context_length"].As<uint>());
        Assert.Equal((float)config.RopeTheta, gguf.Metadata["llama.rope.freq_base"].As<float>());
        Assert.Equal((float)config.RmsNormEps, gguf.Metadata["llama.attention.layer_norm_rms_epsilon"].As<float>());

        // Byte-level BPE: gpt2 model, tokens by id, specials as CONTROL, every merge of tokenizer.json.
        using var tokenizer = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(SqlCllm, "tokenizer.json")));
        var model = tokenizer.RootElement.GetProperty("model");
        var tokens = gguf.Metadata["tokenizer.ggml.tokens"].As<string[]>();
        Assert.Equal("gpt2", gguf.Metadata["tokenizer.ggml.model"].As<string>());
        Assert.Equal(config.VocabSize, tokens.Length);
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            Assert.Equal(entry.Name, tokens[entry.Value.GetInt32()]);
        }

        var types = gguf.Metadata["tokenizer.ggml.token_type"].As<int[]>();
        Assert.Equal(new[] { 3, 3, 3 }, types.Take(3));
        Assert.Equal(model.GetProperty("merges").GetArrayLength(), gguf.Metadata["tokenizer.ggml.merges"].As<string[]>().Length);
        Assert.Equal(string.Join(' ', model.GetProperty("merges")[0].EnumerateArray().Select(p => p.GetString())), gguf.Metadata["tokenizer.ggml.merges"].As<string[]>()[0]);
        Assert.Equal(1u, gguf.Metadata["tokenizer.ggml.bos_token_id"].As<uint>());
        Assert.Equal(2u, gguf.Metadata["tokenizer.ggml.eos_token_id"].As<uint>());
        Assert.Equal(0u, gguf.Metadata["tokenizer.ggml.unknown_token_id"].As<uint>());
        Assert.True(gguf.Metadata["tokenizer.ggml.add_bos_token"].As<bool>());

        // Tensors: llama.cpp names, no output.weight (tied), ggml dims reversed, offsets aligned, weights as in the checkpoint.
        var expectedNames = new[] { "token_embd.weight" }
            .Concat(Enumerable.Range(0, config.NumHiddenLayers).SelectMany(i => new[] { "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down" }.Select(p => $"blk.{i}.{p}.weight")))
            .Append("output_norm.weight");
        Assert.Equal(expectedNames, gguf.Tensors.Select(t => t.Name));
        Assert.All(gguf.Offsets, o => Assert.Equal(0ul, o % 32));
        Assert.Equal(0, gguf.DataStart % 32);
        Assert.All(gguf.Tensors, t => Assert.Equal(GgufTensorType.F32, t.Type));
        var embd = gguf.Tensors[0];
        Assert.Equal(new long[] { config.HiddenSize, config.VocabSize }, embd.Dimensions);

        var safetensors = SafetensorsFile.Open(Path.Combine(SqlCllm, "model.safetensors"));
        float[] Hf(string name)
        {
            using var t = safetensors.ReadTensor(name, torch.ScalarType.Float32);
            return t.data<float>().ToArray();
        }

        float[] Gguf(string name) => MemoryMarshalFloats(gguf.Tensors.Single(t => t.Name == name).Data);
        Assert.Equal(Hf("model.embed_tokens.weight"), Gguf("token_embd.weight"));
        Assert.Equal(Hf("model.layers.1.self_attn.v_proj.weight"), Gguf("blk.1.attn_v.weight"));
        Assert.Equal(Hf("model.norm.weight"), Gguf("output_norm.weight"));
        var q = Gguf("blk.2.attn_q.weight");
        Assert.NotEqual(Hf("model.layers.2.self_attn.q_proj.weight"), q);
        Assert.Equal(Hf("model.layers.2.self_attn.q_proj.weight"), GgufRope.ToRotateHalf(q, config.NumAttentionHeads, config.HiddenSize));
        Assert.Equal(Hf("model.layers.2.self_attn.k_proj.weight"), GgufRope.ToRotateHalf(Gguf("blk.2.attn_k.weight"), config.NumKeyValueHeads, config.HiddenSize));
    }

    [Fact]
    public void Q8_0_export_of_stories260k_writes_sentencepiece_vocab_and_keeps_unaligned_rows_f16()
    {
        var path = Path.Combine(_dir, "stories.gguf");
        GgufExporter.Export(ShippedModels.Stories260K, path, GgufFileType.Q8_0);
        var gguf = GgufReader.Read(path);

        Assert.Equal(7u, gguf.Metadata["general.file_type"].As<uint>());
        Assert.Equal("llama", gguf.Metadata["tokenizer.ggml.model"].As<string>());
        var tokens = gguf.Metadata["tokenizer.ggml.tokens"].As<string[]>();
        var types = gguf.Metadata["tokenizer.ggml.token_type"].As<int[]>();
        Assert.Equal(512, tokens.Length);
        Assert.Equal(512, gguf.Metadata["tokenizer.ggml.scores"].As<float[]>().Length);
        Assert.Equal(new[] { "<unk>", "<s>", "</s>", "<0x00>" }, tokens.Take(4));
        Assert.Equal(new[] { 2, 3, 3, 6 }, types.Take(4));                           // UNKNOWN, CONTROL, CONTROL, BYTE
        Assert.Equal(4u, gguf.Metadata["llama.attention.head_count_kv"].As<uint>());

        var byName = gguf.Tensors.ToDictionary(t => t.Name);
        Assert.Equal(GgufTensorType.Q8_0, byName["blk.0.attn_q.weight"].Type);         // 64 columns: two blocks a row
        Assert.Equal(64 * 64 / 32 * 34, byName["blk.0.attn_q.weight"].Data.Length);
        Assert.Equal(GgufTensorType.F16, byName["blk.0.ffn_down.weight"].Type);       // 172 columns: no whole blocks
        Assert.Equal(GgufTensorType.F32, byName["blk.0.attn_norm.weight"].Type);
        Assert.Equal(new long[] { 172, 64 }, byName["blk.0.ffn_down.weight"].Dimensions);
    }

    [Fact]
    public void Export_rejects_a_folder_without_tokenizer_unless_a_placeholder_is_asked_for()
    {
        var folder = Path.Combine(_dir, "random");
        using var model = TinyLlama.Create(seed: 1, TinyLlama.Config(vocab: 300, tied: false));
        model.Save(folder, copyTokenizerFrom: null, storeAs: torch.ScalarType.Float32);
        var error = Assert.Throws<CheckpointException>(() => GgufExporter.Export(folder, Path.Combine(_dir, "x.gguf")));
        Assert.Contains("no tokenizer.model or tokenizer.json", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "x.gguf")));

        GgufExporter.Export(folder, Path.Combine(_dir, "x.gguf"), GgufFileType.F16, placeholderVocabulary: true);
        var gguf = GgufReader.Read(Path.Combine(_dir, "x.gguf"));
        Assert.Contains("output.weight", gguf.Tensors.Select(t => t.Name));             // untied: lm_head is exported
        Assert.Equal(GgufTensorType.F16, gguf.Tensors.Single(t => t.Name == "output.weight").Type);
        Assert.Equal(300, gguf.Metadata["tokenizer.ggml.tokens"].As<string[]>().Length);
    }

    private static float[] MemoryMarshalFloats(byte[] bytes)
    {
        var values = new float[bytes.Length / 4];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
        }

        return values;
    }
}
