using System.Collections.Generic;
using Cllm.Core;
using Microsoft.ML.Tokenizers;

namespace Cllm.Tests.Text;

public class SentencePieceParityTests
{
    [SkippableFact]
    public void EncodesThePromptsLikeHuggingFace()
    {
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        List<Stories260K.Reference> references = Stories260K.References();
        Assert.Equal(5, references.Count);
        foreach (Stories260K.Reference reference in references)
        {
            Assert.Equal(reference.PromptIds, tokenizer.Encode(reference.Prompt));
        }
    }

    [SkippableFact]
    public void DecodesTheGreedyTextsLikeHuggingFace()
    {
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        foreach (Stories260K.Reference reference in Stories260K.References())
        {
            Assert.Equal(reference.Text, tokenizer.Decode(reference.AllIds));
        }
    }

    // Ids from SentencePiece itself (Debian python3-sentencepiece 0.1.97) on tokenizer.model.
    [SkippableTheory]
    [InlineData("Café 日本 🙂 zebra!", new[] { 410, 457, 412, 431, 485, 410, 233, 154, 168, 233, 159, 175, 410, 243, 162, 156, 133, 410, 451, 411, 430, 420, 412, 443 })]
    [InlineData("a tab\there,\nnew lines\n\nand 🙂", new[] { 261, 259, 412, 430, 12, 260, 276, 432, 13, 416, 411, 424, 278, 271, 406, 13, 13, 412, 264, 410, 243, 162, 156, 133 })]
    [InlineData("Once upon a time, 12345.", new[] { 403, 407, 261, 378, 432, 410, 475, 479, 472, 484, 480, 426 })]
    [InlineData("  double   spaces ", new[] { 279, 277, 430, 305, 262, 427, 412, 331, 419 })]
    [InlineData("u", new[] { 318 })]                    // Microsoft.ML.Tokenizers 2.0.1 alone gives [] for one character
    [InlineData(" ! ", new[] { 410, 443 })]
    [InlineData("日", new[] { 410, 233, 154, 168 })]
    public void MatchesSentencePiece(string escapedText, int[] expected)
    {
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        string text = System.Text.RegularExpressions.Regex.Unescape(escapedText);
        Assert.Equal(expected, tokenizer.Encode(text, addSpecial: false));
        Assert.Equal([1, .. expected], tokenizer.Encode(text));
    }

    [SkippableFact]
    public void EmptyPromptIsJustBos()
    {
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        Assert.Equal(new[] { 1 }, tokenizer.Encode(""));
        Assert.Empty(tokenizer.Encode("", addSpecial: false));
    }

    [SkippableFact]
    public void ReadsTheSpecialTokens()
    {
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        Assert.IsAssignableFrom<LlamaTokenizer>(tokenizer.Inner);
        Assert.Equal(1, tokenizer.BosTokenId);
        Assert.Equal(2, tokenizer.EosTokenId);
        Assert.True(tokenizer.AddsBos);
        Assert.False(tokenizer.AddsEos);
        Assert.Equal(512, tokenizer.VocabSize);
        Assert.Equal(1, tokenizer.SpecialTokens["<s>"]);
        Assert.Equal(2, tokenizer.SpecialTokens["</s>"]);
        Assert.Equal(0, tokenizer.SpecialTokens["<unk>"]);
    }

    [SkippableTheory]
    [InlineData("Café 日本 🙂 zebra!")]
    [InlineData("a tab\there,\nnew lines\n\nand 🙂")]
    [InlineData("Once upon a time, 12345.")]
    public void RoundTrips(string text)
    {
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        int[] ids = tokenizer.Encode(text);
        Assert.Equal(1, ids[0]);
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [SkippableFact]
    public void TheModelNormaliserCollapsesRunsOfSpaces()
    {
        // tok512's SentencePiece normaliser has remove_extra_whitespaces on, as SentencePiece itself applies.
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        Assert.Equal(tokenizer.Encode("double spaces"), tokenizer.Encode("  double   spaces "));
    }

    [SkippableFact]
    public void SpecialTokensAreKeptOnRequest()
    {
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        int[] ids = [1, 403, 407, 2];
        Assert.Equal("Once upon", tokenizer.Decode(ids));

        // As Hugging Face: the special tokens' text, and the space of "▁Once" stays after "<s>".
        Assert.Equal("<s> Once upon</s>", tokenizer.Decode(ids, skipSpecialTokens: false));
        Assert.Equal("Once<unk> Once", tokenizer.Decode([403, 0, 403], skipSpecialTokens: false));
    }

    [SkippableTheory]
    [InlineData(new[] { 13, 261 }, "\n a")]          // <0x0A> ▁a: the space stays (Microsoft.ML gives "\na")
    [InlineData(new[] { 68, 261 }, "A a")]            // <0x41> ▁a
    [InlineData(new[] { 2, 403 }, "Once")]            // a skipped special token does not keep the space
    [InlineData(new[] { 233, 154, 68 }, "\ufffd\ufffdA")] // truncated 日 (E6 97) then "A": one U+FFFD per byte
    [InlineData(new[] { 403, 600, 407 }, "Once upon")] // an unknown id decodes to nothing
    public void DecodesEdgeCasesLikeHuggingFace(int[] ids, string expectedEscaped)
    {
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        string expected = System.Text.RegularExpressions.Regex.Unescape(expectedEscaped);
        Assert.Equal(expected, tokenizer.Decode(ids));
    }
}
