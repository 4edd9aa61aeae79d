using System.Collections.Generic;
using Cllm.Text;
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
