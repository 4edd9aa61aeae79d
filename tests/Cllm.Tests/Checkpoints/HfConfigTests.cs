using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Core;

using Cllm.Tests.TestKit;

namespace Cllm.Tests.Checkpoints;

public sealed class HfConfigTests : IDisposable
{
    private const string Llama = """
        {
          "architectures": ["LlamaForCausalLM"],
          "model_type": "llama",
          "vocab_size": 32000,
          "hidden_size": 288,
          "intermediate_size": 768,
          "num_hidden_layers": 6,
          "num_attention_heads": 6,
          "max_position_embeddings": 256,
          "rms_norm_eps": 1e-05,
          "hidden_act": "silu",
          "bos_token_id": 1,
          "eos_token_id": 2,
          "tie_word_embeddings": false,
          "torch_dtype": "float32"
        }
        """;

    private const string Mistral = """
        {
          "architectures": ["MistralForCausalLM"],
          "model_type": "mistral",
          "vocab_size": 32768,
          "hidden_size": 4096,
          "intermediate_size": 14336,
          "num_hidden_layers": 32,
          "num_attention_heads": 32,
          "num_key_value_heads": 8,
          "head_dim": 128,
          "max_position_embeddings": 32768,
          "rms_norm_eps": 1e-05,
          "rope_theta": 1000000.0,
          "sliding_window": null,
          "hidden_act": "silu",
          "bos_token_id": 1,
          "eos_token_id": 2,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16"
        }
        """;

    private const string Qwen2 = """
        {
          "architectures": ["Qwen2ForCausalLM"],
          "model_type": "qwen2",
          "vocab_size": 151936,
          "hidden_size": 896,
          "intermediate_size": 4864,
          "num_hidden_layers": 24,
          "num_attention_heads": 14,
          "num_key_value_heads": 2,
          "max_position_embeddings": 32768,
          "max_window_layers": 21,
          "rms_norm_eps": 1e-06,
          "rope_theta": 1000000.0,
          "sliding_window": 32768,
          "use_sliding_window": false,
          "hidden_act": "silu",
          "attention_dropout": 0.0,
          "bos_token_id": 151643,
          "eos_token_id": 151645,
          "tie_word_embeddings": true,
          "torch_dtype": "bfloat16",
          "use_cache": true
        }
        """;

    private const string Llama32 = """
        {
          "architectures": ["LlamaForCausalLM"],
          "model_type": "llama",
          "vocab_size": 128256,
          "hidden_size": 2048,
          "intermediate_size": 8192,
          "num_hidden_layers": 16,
          "num_attention_heads": 32,
          "num_key_value_heads": 8,
          "head_dim": 64,
          "max_position_embeddings": 131072,
          "rms_norm_eps": 1e-05,
          "rope_theta": 500000.0,
          "rope_scaling": {
            "factor": 32.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3"
          },
          "attention_bias": false,
          "mlp_bias": false,
          "hidden_act": "silu",
          "bos_token_id": 128000,
          "eos_token_id": [128001, 128008, 128009],
          "tie_word_embeddings": true,
          "torch_dtype": "bfloat16"
        }
        """;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void LlamaWithDefaults()
    {
        var config = HfConfigReader.Read(WriteConfig(Llama));

        Assert.Equal("llama", config.ModelType);
        Assert.Equal(32000, config.VocabSize);
        Assert.Equal(288, config.HiddenSize);
        Assert.Equal(768, config.IntermediateSize);
        Assert.Equal(6, config.NumHiddenLayers);
        Assert.Equal(6, config.NumAttentionHeads);
        Assert.Equal(6, config.NumKeyValueHeads);
        Assert.Null(config.HeadDimOverride);
        Assert.Equal(48, config.HeadDim);
        Assert.Equal(256, config.MaxPositionEmbeddings);
        Assert.Equal(1e-5, config.RmsNormEps);
        Assert.Equal(10000.0, config.RopeTheta);
        Assert.Null(config.RopeScaling);
        Assert.False(config.AttentionBias);
        Assert.False(config.MlpBias);
        Assert.False(config.TieWordEmbeddings);
        Assert.Equal(1, config.BosTokenId);
        Assert.Equal(new[] { 2 }, config.EosTokenIds);
        Assert.Null(config.PadTokenId);
        Assert.Equal("float32", config.TorchDtype);
    }

    [Fact]
    public void Mistral7B()
    {
        var config = HfConfigReader.Read(WriteConfig(Mistral));

        Assert.Equal("mistral", config.ModelType);
        Assert.Equal(8, config.NumKeyValueHeads);
        Assert.Equal(128, config.HeadDimOverride);
        Assert.Equal(1_000_000.0, config.RopeTheta);
        Assert.False(config.AttentionBias);
        Assert.False(config.MlpBias);
    }

    [Theory]
    [InlineData("null", 32768)]
    [InlineData("4096", 4096)]
    [InlineData("65536", 32768)]
    public void MistralsSlidingWindowCapsTheUsableContext(string window, int context)
    {
        var config = HfConfigReader.Read(WriteConfig(With(Mistral, "sliding_window", window)));
        Assert.Equal(context, config.MaxPositionEmbeddings);
    }

    [Fact]
    public void AnInvalidSlidingWindowIsRejected()
    {
        var error = Assert.Throws<CheckpointException>(() => HfConfigReader.Read(WriteConfig(With(Mistral, "sliding_window", "0"))));
        Assert.Contains("sliding_window", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Qwen2HasQkvBiasAndTiedEmbeddings()
    {
        var config = HfConfigReader.Read(WriteConfig(Qwen2));

        Assert.Equal("qwen2", config.ModelType);
        Assert.True(config.AttentionBias);
        Assert.False(config.MlpBias);
        Assert.True(config.TieWordEmbeddings);
        Assert.Equal(2, config.NumKeyValueHeads);
        Assert.Equal(64, config.HeadDim);
        Assert.Equal(1e-6, config.RmsNormEps);
        Assert.Equal(new[] { 151645 }, config.EosTokenIds);
        Assert.Equal("bfloat16", config.TorchDtype);
    }

    [Fact]
    public void Llama3RopeScalingAndEosList()
    {
        var config = HfConfigReader.Read(WriteConfig(Llama32));

        Assert.Equal(new RopeScaling { Type = "llama3", Factor = 32, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192 }, config.RopeScaling);
        Assert.Equal(500000.0, config.RopeTheta);
        Assert.Equal(new[] { 128001, 128008, 128009 }, config.EosTokenIds);
        Assert.Equal(64, config.HeadDim);
        Assert.True(config.TieWordEmbeddings);
    }

    [Fact]
    public void LinearRopeScalingWithTheOlderTypeKey()
    {
        var config = HfConfigReader.Read(WriteConfig(Llama.Replace("\"hidden_act\"", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 4.0},\n  \"hidden_act\"", StringComparison.Ordinal)));

        Assert.Equal(new RopeScaling { Type = "linear", Factor = 4 }, config.RopeScaling);
    }

    [Fact]
    public void DefaultRopeTypeMeansNoScaling()
    {
        var config = HfConfigReader.Read(WriteConfig(With(Llama, "rope_scaling", """{"rope_type": "default"}""")));

        Assert.Null(config.RopeScaling);
    }

    [Fact]
    public void Transformers5RopeParameters()
    {
        var json = With(Llama, "rope_parameters", """{"rope_type": "linear", "factor": 2.0, "rope_theta": 250000.0}""");

        var config = HfConfigReader.Read(WriteConfig(json));

        Assert.Equal(250000.0, config.RopeTheta);
        Assert.Equal(new RopeScaling { Type = "linear", Factor = 2 }, config.RopeScaling);
    }

    [Fact]
    public void LlamaAttentionAndMlpBiasAreRead()
    {
        var config = HfConfigReader.Read(WriteConfig(With(With(Llama, "attention_bias", "true"), "mlp_bias", "true")));

        Assert.True(config.AttentionBias);
        Assert.True(config.MlpBias);
    }

    [Fact]
    public void NullEosMeansNone()
    {
        var config = HfConfigReader.Read(WriteConfig(With(Llama, "eos_token_id", "null")));

        Assert.Empty(config.EosTokenIds);
    }

    [Theory]
    [InlineData("hidden_size")]
    [InlineData("vocab_size")]
    [InlineData("model_type")]
    [InlineData("max_position_embeddings")]
    public void MissingRequiredFieldIsNamed(string field)
    {
        var path = WriteConfig(Without(Llama, field));

        var ex = Assert.Throws<CheckpointException>(() => HfConfigReader.Read(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"missing required field '{field}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingLlama3FieldIsNamedWithItsParent()
    {
        var path = WriteConfig(With(Llama, "rope_scaling", """{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}"""));

        AssertReadFails(path, "missing required field 'rope_scaling.original_max_position_embeddings'");
    }

    [Fact]
    public void UnknownModelType()
    {
        AssertReadFails(WriteConfig(With(Llama, "model_type", "\"gpt2\"")), "unknown model_type 'gpt2' (supported: llama, mistral, qwen2)");
    }

    [Fact]
    public void UnsupportedRopeType()
    {
        AssertReadFails(WriteConfig(With(Llama, "rope_scaling", """{"rope_type": "yarn", "factor": 4.0}""")), "'yarn', which is not supported");
    }

    [Fact]
    public void UnsupportedActivation()
    {
        AssertReadFails(WriteConfig(With(Llama, "hidden_act", "\"gelu\"")), "field 'hidden_act' is 'gelu'");
    }

    [Fact]
    public void Qwen2SlidingWindowIsRejected()
    {
        AssertReadFails(WriteConfig(With(Qwen2, "use_sliding_window", "true")), "field 'use_sliding_window' is true");
    }

    [Fact]
    public void WrongFieldTypeIsNamed()
    {
        AssertReadFails(WriteConfig(With(Llama, "vocab_size", "\"many\"")), "field 'vocab_size' must be an integer, got \"many\"");
        AssertReadFails(WriteConfig(With(Llama, "eos_token_id", "[2, \"x\"]")), "field 'eos_token_id' must be an integer or a list of integers");
    }

    [Fact]
    public void ValidationErrorsBecomeCheckpointExceptions()
    {
        var ex = AssertReadFails(WriteConfig(With(Llama, "num_key_value_heads", "4")), "num_key_value_heads (4)");

        Assert.IsType<ArgumentException>(ex.InnerException);
    }

    [Fact]
    public void InvalidJsonAndMissingFile()
    {
        AssertReadFails(WriteConfig("{\"model_type\": "), "not valid JSON");
        AssertReadFails(_folder.File("nothing.json"), "file not found");
        AssertReadFails(WriteConfig("[]"), "expected an object");
    }

    [Fact]
    public void GenerationEosAsIntListOrAbsent()
    {
        var path = _folder.File("generation_config.json");

        File.WriteAllText(path, """{"eos_token_id": [128001, 128009], "do_sample": true}""");
        Assert.Equal(new[] { 128001, 128009 }, HfConfigReader.ReadGenerationEos(path));
        File.WriteAllText(path, """{"eos_token_id": 7}""");
        Assert.Equal(new[] { 7 }, HfConfigReader.ReadGenerationEos(path));
        File.WriteAllText(path, """{"bos_token_id": 1}""");
        Assert.Null(HfConfigReader.ReadGenerationEos(path));
    }

    [Theory]
    [InlineData(Llama)]
    [InlineData(Mistral)]
    [InlineData(Qwen2)]
    [InlineData(Llama32)]
    public void WriteThenReadGivesTheSameConfig(string json)
    {
        var original = HfConfigReader.Read(WriteConfig(json));
        var path = _folder.File("written.json");

        HfConfigWriter.Write(original, path);
        var back = HfConfigReader.Read(path);

        Assert.Equal(original.EosTokenIds, back.EosTokenIds);
        Assert.Equal(original, back with { EosTokenIds = original.EosTokenIds });
        Assert.Equal(new[] { "written.json" }, Directory.GetFiles(_folder.Path, "written*").Select(Path.GetFileName));
    }

    [Fact]
    public void WrittenConfigLooksLikeTransformers()
    {
        var config = HfConfigReader.Read(WriteConfig(Llama32));
        var path = _folder.File("out.json");

        HfConfigWriter.Write(config, path);

        var text = File.ReadAllText(path);
        Assert.Contains("\"rope_theta\": 500000.0", text, StringComparison.Ordinal);
        Assert.Contains("\"factor\": 32.0", text, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal("LlamaForCausalLM", root.GetProperty("architectures")[0].GetString());
        Assert.Equal("llama3", root.GetProperty("rope_scaling").GetProperty("rope_type").GetString());
        Assert.Equal(3, root.GetProperty("eos_token_id").GetArrayLength());
        Assert.Equal("silu", root.GetProperty("hidden_act").GetString());
        Assert.Equal(1e-5, root.GetProperty("rms_norm_eps").GetDouble());
    }

    [Fact]
    public void WriterRefusesConfigsTransformersCannotExpress()
    {
        var qwen = HfConfigReader.Read(WriteConfig(Qwen2));
        var mistral = HfConfigReader.Read(WriteConfig(Mistral));

        Assert.Throws<ArgumentException>(() => HfConfigWriter.Write(qwen with { AttentionBias = false }, _folder.File("a.json")));
        Assert.Throws<ArgumentException>(() => HfConfigWriter.Write(mistral with { MlpBias = true }, _folder.File("b.json")));
        Assert.Throws<ArgumentException>(() => HfConfigWriter.Write(mistral with { ModelType = "gpt2" }, _folder.File("c.json")));
        Assert.Throws<ArgumentException>(() => HfConfigWriter.Write(mistral with { NumKeyValueHeads = 7 }, _folder.File("d.json")));
        Assert.DoesNotContain(Directory.GetFiles(_folder.Path), f => !Path.GetFileName(f).StartsWith("config-", StringComparison.Ordinal));
    }

    [Fact]
    public void GenerationConfigRoundTrip()
    {
        var config = HfConfigReader.Read(WriteConfig(Llama32));
        var path = _folder.File("generation_config.json");

        HfConfigWriter.WriteGenerationConfig(config, path);

        Assert.Equal(config.EosTokenIds, HfConfigReader.ReadGenerationEos(path));
    }

    private static string With(string json, string field, string rawValue)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        node[field] = System.Text.Json.Nodes.JsonNode.Parse(rawValue);
        return node.ToJsonString();
    }

    private static string Without(string json, string field)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        Assert.True(node.Remove(field));
        return node.ToJsonString();
    }

    private string WriteConfig(string json)
    {
        var path = _folder.File($"config-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static CheckpointException AssertReadFails(string path, string problem)
    {
        var ex = Assert.Throws<CheckpointException>(() => HfConfigReader.Read(path));
        Assert.Contains(Path.GetFileName(path), ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        return ex;
    }
}
