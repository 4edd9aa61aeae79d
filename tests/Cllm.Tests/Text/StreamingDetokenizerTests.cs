using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Cllm.Core;

using Cllm.Tests.TestKit;

namespace Cllm.Tests.Text;

public class StreamingDetokenizerTests
{
    /// <summary>Streams <paramref name="ids"/> and returns every Push output, then the Flush output.</summary>
    private static List<string> Stream(CllmTokenizer tokenizer, IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        var streamer = new StreamingDetokenizer(tokenizer, skipSpecialTokens);
        var pieces = ids.Select(streamer.Push).ToList();
        pieces.Add(streamer.Flush());
        return pieces;
    }

    private static void AssertStreamsLikeDecode(CllmTokenizer tokenizer, int[] ids, bool skipSpecialTokens)
    {
        string streamed = string.Concat(Stream(tokenizer, ids, skipSpecialTokens));
        string expected = tokenizer.Decode(ids, skipSpecialTokens);
        Assert.True(expected == streamed, $"ids [{string.Join(",", ids)}] skip={skipSpecialTokens}: expected {Escape(expected)}, streamed {Escape(streamed)}");
    }

    private static string Escape(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    [SkippableFact]
    public void ReferenceGenerationsStreamToTheReferenceText()
    {
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        foreach (Stories260K.Reference reference in Stories260K.References())
        {
            List<string> pieces = Stream(tokenizer, reference.AllIds);
            Assert.Equal(reference.Text, string.Concat(pieces));
            Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));

            // Word-boundary spaces arrive with the word: most pieces after the first start with a space.
            Assert.Contains(pieces.Skip(2), p => p.StartsWith(' '));
        }
    }

    [SkippableFact]
    public void PromptAndGenerationStreamedSeparately()
    {
        // A typical loop: print the prompt, then stream only the generated ids on top of the prompt ids.
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        foreach (Stories260K.Reference reference in Stories260K.References())
        {
            var streamer = new StreamingDetokenizer(tokenizer);
            string prompt = string.Concat(reference.PromptIds.Select(streamer.Push));
            string generated = string.Concat(reference.GreedyIds.Select(streamer.Push)) + streamer.Flush();
            Assert.Equal(reference.Prompt, prompt);
            Assert.Equal(reference.Text, prompt + generated);
        }
    }

    [SkippableTheory]
    [InlineData("Café 日本 🙂 zebra!")]
    [InlineData("🙂🙂 日本語のテキスト\n\tand ascii ÄÖÜ ß")]
    public void MultiByteCharactersAreNeverSplit(string text)
    {
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        int[] ids = tokenizer.Encode(text);
        List<string> pieces = Stream(tokenizer, ids);
        Assert.Equal(text, string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));

        // Byte-fallback tokens complete a character only with their last byte, so some pushes return nothing.
        Assert.Contains(pieces.Take(ids.Length), p => p.Length == 0);
        foreach (string piece in pieces)
        {
            Assert.False(piece.Length > 0 && char.IsHighSurrogate(piece[^1]), "a piece ends inside a surrogate pair");
        }
    }

    [SkippableFact]
    public void RandomIdsStreamLikeDecode()
    {
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        var random = new Random(260);
        for (int trial = 0; trial < 400; trial++)
        {
            int[] ids = Enumerable.Range(0, random.Next(1, 40)).Select(_ => random.Next(tokenizer.VocabSize)).ToArray();
            AssertStreamsLikeDecode(tokenizer, ids, skipSpecialTokens: true);
            AssertStreamsLikeDecode(tokenizer, ids, skipSpecialTokens: false);
        }
    }

    [SkippableFact]
    public void RandomMixesOfBytesSpecialsAndWordsStreamLikeDecode()
    {
        // Biased towards the hard cases: runs of byte tokens (3..258), specials (0..2) and word pieces
        // with and without a leading "▁", plus some ids outside the vocabulary.
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        int[] utf8Bytes = Encoding.UTF8.GetBytes("é日本🙂 \n").Select(b => b + 3).ToArray();
        var random = new Random(42);
        for (int trial = 0; trial < 600; trial++)
        {
            int[] ids = Enumerable.Range(0, random.Next(1, 30)).Select(_ => random.Next(10) switch
            {
                0 => random.Next(3),
                1 or 2 or 3 => utf8Bytes[random.Next(utf8Bytes.Length)],
                4 => random.Next(3, 259),
                5 => 600,
                _ => random.Next(259, 512),
            }).ToArray();
            AssertStreamsLikeDecode(tokenizer, ids, skipSpecialTokens: true);
            AssertStreamsLikeDecode(tokenizer, ids, skipSpecialTokens: false);
        }
    }

    [SkippableFact]
    public void FlushStartsANewSequence()
    {
        CllmTokenizer tokenizer = Stories260K.LoadTokenizer();
        var streamer = new StreamingDetokenizer(tokenizer);
        string first = string.Concat(tokenizer.Encode("Once upon").Select(streamer.Push)) + streamer.Flush();
        string second = string.Concat(tokenizer.Encode("a time").Select(streamer.Push)) + streamer.Flush();
        Assert.Equal("Once upon", first);
        Assert.Equal("a time", second);
    }

    [Fact]
    public void HeldBackBytesComeOutOnFlush()
    {
        CllmTokenizer tokenizer = LoadByteLevel();
        var streamer = new StreamingDetokenizer(tokenizer);
        Assert.Equal("a", streamer.Push(97));
        Assert.Equal("", streamer.Push(0xE6)); // first byte of 日
        Assert.Equal("", streamer.Push(0x97));
        Assert.Equal("\uFFFD", streamer.Flush());
    }

    [Fact]
    public void ByteLevelBpeStreamsLikeDecode()
    {
        CllmTokenizer tokenizer = LoadByteLevel();
        string text = "Café 日本 🙂 the cat<|endoftext|>\n\n";
        int[] ids = tokenizer.Encode(text);
        List<string> pieces = Stream(tokenizer, ids, skipSpecialTokens: false);
        Assert.Equal(text, string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));

        var random = new Random(7);
        for (int trial = 0; trial < 400; trial++)
        {
            int[] randomIds = Enumerable.Range(0, random.Next(1, 30))
                .Select(_ => random.Next(3) == 0 ? random.Next(0xC0, 0x100) : random.Next(tokenizer.VocabSize))
                .ToArray();
            AssertStreamsLikeDecode(tokenizer, randomIds, skipSpecialTokens: true);
            AssertStreamsLikeDecode(tokenizer, randomIds, skipSpecialTokens: false);
        }
    }

    private static CllmTokenizer LoadByteLevel()
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", ByteLevelBpeTests.Gpt2Like().ToJson());
        return CllmTokenizer.FromDirectory(folder.Path);
    }
}
