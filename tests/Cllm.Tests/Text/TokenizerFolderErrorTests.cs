using System;
using System.IO;
using Cllm.Core;

using Cllm.Tests.TestKit;

namespace Cllm.Tests.Text;

public class TokenizerFolderErrorTests
{
    [Fact]
    public void EmptyFolderNamesTheFolder()
    {
        using var folder = new TempFolder();
        var e = Assert.Throws<CheckpointException>(() => CllmTokenizer.FromDirectory(folder.Path));
        Assert.Equal(folder.Path, e.FilePath);
        Assert.Contains("tokenizer.model", e.Message);
        Assert.Contains("tokenizer.json", e.Message);
    }

    [Fact]
    public void MissingFolder()
    {
        string missing = Path.Combine(Path.GetTempPath(), "cllm-missing-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<CheckpointException>(() => CllmTokenizer.FromDirectory(missing));
        Assert.Equal(missing, e.FilePath);
    }

    [Fact]
    public void CorruptTokenizerJsonNamesTheFile()
    {
        using var folder = new TempFolder();
        string file = folder.Write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,");
        var e = Assert.Throws<CheckpointException>(() => CllmTokenizer.FromDirectory(folder.Path));
        Assert.Equal(file, e.FilePath);
        Assert.Contains(file, e.Message);
    }

    [Fact]
    public void WrongStructureNamesTheFile()
    {
        using var folder = new TempFolder();
        string file = folder.Write("tokenizer.json", """{"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}}""");
        var e = Assert.Throws<CheckpointException>(() => CllmTokenizer.FromDirectory(folder.Path));
        Assert.Equal(file, e.FilePath);
    }

    [Fact]
    public void UnsupportedModelType()
    {
        using var folder = new TempFolder();
        string file = folder.Write("tokenizer.json", """{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 1}}}""");
        var e = Assert.Throws<NotSupportedException>(() => CllmTokenizer.FromDirectory(folder.Path));
        Assert.Contains(file, e.Message);
        Assert.Contains("WordPiece", e.Message);
    }

    [Fact]
    public void SentencePieceStyleTokenizerJsonAsksForTokenizerModel()
    {
        // A LLaMA-2 style tokenizer.json: BPE over "▁" pieces with byte fallback, no ByteLevel step.
        using var folder = new TempFolder();
        string file = folder.Write("tokenizer.json", """
            {"normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
             "pre_tokenizer": null,
             "model": {"type": "BPE", "byte_fallback": true, "vocab": {"<unk>": 0, "▁": 1, "a": 2, "▁a": 3}, "merges": ["▁ a"]}}
            """);
        var e = Assert.Throws<NotSupportedException>(() => CllmTokenizer.FromDirectory(folder.Path));
        Assert.Contains(file, e.Message);
        Assert.Contains("tokenizer.model", e.Message);
    }

    [Fact]
    public void MetaspacePreTokenizerIsNotByteLevel()
    {
        using var folder = new TempFolder();
        string file = folder.Write("tokenizer.json", """
            {"pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false},
             "model": {"type": "BPE", "vocab": {"▁": 0, "a": 1}, "merges": []}}
            """);
        var e = Assert.Throws<NotSupportedException>(() => CllmTokenizer.FromDirectory(folder.Path));
        Assert.Contains("not byte-level", e.Message);
        Assert.Contains(file, e.Message);
    }

    [Fact]
    public void CorruptTokenizerConfigNamesTheFile()
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", ByteLevelBpeTests.Gpt2Like().ToJson());
        string config = folder.Write("tokenizer_config.json", "{\"add_bos_token\": tru");
        var e = Assert.Throws<CheckpointException>(() => CllmTokenizer.FromDirectory(folder.Path));
        Assert.Equal(config, e.FilePath);
    }

    [Fact]
    public void CorruptTokenizerModelNamesTheFile()
    {
        using var folder = new TempFolder();
        string model = Path.Combine(folder.Path, "tokenizer.model");
        File.WriteAllBytes(model, [0xFF, 0xFF, 0xFF, 0x01, 0x02, 0x03]);
        var e = Assert.Throws<CheckpointException>(() => CllmTokenizer.FromDirectory(folder.Path));
        Assert.Equal(model, e.FilePath);
    }

    [Fact]
    public void AddBosWithUnknownBosToken()
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", ByteLevelBpeTests.Gpt2Like().ToJson());
        string config = folder.Write("tokenizer_config.json", """{"add_bos_token": true, "bos_token": "<s>"}""");
        var e = Assert.Throws<CheckpointException>(() => CllmTokenizer.FromDirectory(folder.Path));
        Assert.Equal(config, e.FilePath);
        Assert.Contains("<s>", e.Message);
    }

    [Fact]
    public void UnsupportedPreTokenizerPattern()
    {
        // Possessive quantifiers exist in Oniguruma but not in .NET regular expressions.
        using var folder = new TempFolder();
        TokenizerJsonBuilder builder = ByteLevelBpeTests.Gpt2Like();
        builder.PreTokenizer = TokenizerJsonBuilder.SplitThenByteLevel(@"\p{L}++|\s+");
        string file = folder.Write("tokenizer.json", builder.ToJson());
        var e = Assert.Throws<NotSupportedException>(() => CllmTokenizer.FromDirectory(folder.Path));
        Assert.Contains(file, e.Message);
    }
}
