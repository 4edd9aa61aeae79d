using System.IO;
using Cllm.Core;

using Cllm.Tests.TestKit;

namespace Cllm.Tests.Text;

public class ByteLevelBpeTests
{
    /// <summary>
    /// Byte symbols have id = byte value ("Ġ" = space = 32, "Ċ" = newline = 10). Merges, in rank order:
    /// 256 Ġt, 257 he, 258 Ġthe, 259 Ġa, 260 ĊĊ, 261 Ã© (é), 262 at, 263 cat; special 264 &lt;|endoftext|&gt;.
    /// </summary>
    internal static TokenizerJsonBuilder Gpt2Like() => new TokenizerJsonBuilder()
        .Merge("Ġ", "t").Merge("h", "e").Merge("Ġt", "he").Merge("Ġ", "a")
        .Merge("Ċ", "Ċ").Merge("Ã", "©").Merge("a", "t").Merge("c", "at")
        .Added("<|endoftext|>", 264);

    private static CllmTokenizer Load(TokenizerJsonBuilder builder, string? config = null)
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", builder.ToJson());
        if (config is not null)
        {
            folder.Write("tokenizer_config.json", config);
        }

        return CllmTokenizer.FromDirectory(folder.Path);
    }

    [Theory]
    [InlineData("the cat", new[] { 116, 257, 32, 263 })]          // "the" = t + he; " cat" = Ġ + cat (no Ġc merge)
    [InlineData(" the\n\nthe", new[] { 258, 10, 10, 116, 257 })]  // "\n\n" before a letter splits into two pieces
    [InlineData("a\n\n", new[] { 97, 260 })]                      // at the end it stays one piece: ĊĊ
    [InlineData("  a", new[] { 32, 259 })]                        // " " then " a"
    [InlineData("café", new[] { 99, 97, 102, 261 })]              // é = C3 A9 = Ã©
    [InlineData("日", new[] { 230, 151, 165 })]                    // E6 97 A5, no merges
    [InlineData("Hi<|endoftext|> the", new[] { 72, 105, 264, 258 })]
    [InlineData("", new int[0])]
    public void EncodesHandComputedIds(string text, int[] expected)
    {
        CllmTokenizer tokenizer = Load(Gpt2Like());
        Assert.Equal(expected, tokenizer.Encode(text));
        Assert.Equal(text, tokenizer.Decode(expected, skipSpecialTokens: false));
    }

    [Theory]
    [InlineData("Hello, world!\tTabs\r\nand  spaces   ")]
    [InlineData("Café 日本 🙂 zebra! 12345")]
    [InlineData("x<|endoftext|>y")]
    public void RoundTrips(string text)
    {
        CllmTokenizer tokenizer = Load(Gpt2Like());
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text), skipSpecialTokens: false));
    }

    [Fact]
    public void SkipsSpecialTokensWhenDecoding()
    {
        CllmTokenizer tokenizer = Load(Gpt2Like());
        int[] ids = tokenizer.Encode("Hi<|endoftext|> the");
        Assert.Equal("Hi the", tokenizer.Decode(ids));
        Assert.Equal(264, tokenizer.SpecialTokens["<|endoftext|>"]);
        Assert.True(tokenizer.IsSpecialToken(264));
    }

    [Fact]
    public void ReadsBothMergeFormats()
    {
        TokenizerJsonBuilder pairs = Gpt2Like();
        pairs.MergesAsPairs = true;
        Assert.Equal(new[] { 116, 257, 32, 263 }, Load(pairs).Encode("the cat"));
    }

    [Fact]
    public void WithoutConfigOrTemplateAddsNothing()
    {
        CllmTokenizer tokenizer = Load(Gpt2Like());
        Assert.False(tokenizer.AddsBos);
        Assert.False(tokenizer.AddsEos);
        Assert.Null(tokenizer.BosTokenId);
        Assert.Equal(265, tokenizer.VocabSize);
    }

    [Fact]
    public void ConfigCanAddBosAndEos()
    {
        const string config = """{"add_bos_token": true, "add_eos_token": true, "bos_token": {"content": "<|endoftext|>"}, "eos_token": "<|endoftext|>"}""";
        CllmTokenizer tokenizer = Load(Gpt2Like(), config);
        Assert.Equal(new[] { 264, 116, 257, 264 }, tokenizer.Encode("the"));
        Assert.Equal(new[] { 116, 257 }, tokenizer.Encode("the", addSpecial: false));
        Assert.Equal(264, tokenizer.BosTokenId);
        Assert.Equal(264, tokenizer.EosTokenId);
    }

    [Fact]
    public void Llama3StyleSplitAndTemplate()
    {
        // Two extra merges tell the LLaMA-3 pattern from GPT-2's: "3 4" (GPT-2 keeps "12345" whole, LLaMA-3
        // cuts it into "123" "45") and "( t" (LLaMA-3 keeps a leading punctuation mark with the word).
        TokenizerJsonBuilder builder = Gpt2Like().Merge("3", "4").Merge("(", "t")
            .Added("<|begin_of_text|>", 300).Added("<|end_of_text|>", 301);
        builder.PreTokenizer = TokenizerJsonBuilder.SplitThenByteLevel(TokenizerJsonBuilder.Llama3Pattern);
        builder.PostProcessor = TokenizerJsonBuilder.PrependTemplate("<|begin_of_text|>", 300);
        const string config = """{"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}""";
        CllmTokenizer tokenizer = Load(builder, config);

        int id34 = builder.IdOf("34"), idParenT = builder.IdOf("(t");
        Assert.Equal(new[] { 300, 120, 61, 49, 50, 51, 52, 53 }, tokenizer.Encode("x=12345"));
        Assert.Equal(new[] { 300, idParenT, 257 }, tokenizer.Encode("(the"));
        Assert.Equal(new[] { 300 }, tokenizer.Encode(""));
        Assert.True(tokenizer.AddsBos);
        Assert.Equal(300, tokenizer.BosTokenId);
        Assert.Equal(301, tokenizer.EosTokenId);
        Assert.Equal(302, tokenizer.VocabSize);
        Assert.Equal("x=12345", tokenizer.Decode(tokenizer.Encode("x=12345")));

        // The same vocabulary with the GPT-2 regex merges across those boundaries.
        CllmTokenizer gpt2 = Load(Gpt2Like().Merge("3", "4").Merge("(", "t"));
        Assert.Equal(new[] { 120, 61, 49, 50, id34, 53 }, gpt2.Encode("x=12345"));
        Assert.Equal(new[] { 40, 116, 257 }, gpt2.Encode("(the"));
    }

    [Fact]
    public void IgnoreMergesTakesWholeWordsFromTheVocabulary()
    {
        // "Ġcat" is in the vocabulary but no merge reaches it (there is no "Ġ cat" merge).
        TokenizerJsonBuilder builder = Gpt2Like().Vocab("Ġcat");
        int wholeWord = builder.IdOf("Ġcat");
        Assert.Equal(new[] { 116, 257, 32, 263 }, Load(builder).Encode("the cat"));

        builder.IgnoreMerges = true;
        CllmTokenizer tokenizer = Load(builder);
        Assert.Equal(new[] { 116, 257, wholeWord }, tokenizer.Encode("the cat"));
        Assert.Equal(new[] { 116, 257, wholeWord, 264, 32, 263, 116 }, tokenizer.Encode("the cat<|endoftext|> catt"));
    }

    [Fact]
    public void SequenceOfSplitsAndDigits()
    {
        // DeepSeek-style: several Split steps, then Digits, then ByteLevel without its own regex.
        TokenizerJsonBuilder builder = Gpt2Like().Merge("1", "2").Merge("Ġ", "1");
        builder.PreTokenizer = """
            {"type":"Sequence","pretokenizers":[
              {"type":"Split","pattern":{"Regex":"[\r\n]"},"behavior":"Isolated","invert":false},
              {"type":"Split","pattern":{"Regex":"\\s?\\p{L}+"},"behavior":"Isolated","invert":false},
              {"type":"Digits","individual_digits":true},
              {"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}
            """;
        CllmTokenizer tokenizer = Load(builder);

        // Pieces: "the", " ", "1", "2", "\n", "\n", " cat" — digits apart, so neither "12" nor "Ġ1" applies.
        Assert.Equal(new[] { 116, 257, 32, 49, 50, 10, 10, 32, 263 }, tokenizer.Encode("the 12\n\n cat"));
        Assert.Equal("the 12\n\n cat", tokenizer.Decode(tokenizer.Encode("the 12\n\n cat")));
    }

    [Fact]
    public void NfcNormalizer()
    {
        TokenizerJsonBuilder builder = Gpt2Like();
        builder.Normalizer = """{"type":"NFC"}""";
        CllmTokenizer tokenizer = Load(builder);

        // "e" + combining acute accent composes to é (C3 A9), which has a merge.
        Assert.Equal(new[] { 99, 97, 102, 261 }, tokenizer.Encode("cafe\u0301"));
    }

    [Fact]
    public void LoadedFolderIsNotNeededAfterLoading()
    {
        string path;
        CllmTokenizer tokenizer;
        using (var folder = new TempFolder())
        {
            folder.Write("tokenizer.json", Gpt2Like().ToJson());
            tokenizer = CllmTokenizer.FromDirectory(folder.Path);
            path = folder.Path;
        }

        Assert.False(Directory.Exists(path));
        Assert.Equal(new[] { 258 }, tokenizer.Encode(" the"));
    }
}
