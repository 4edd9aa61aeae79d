using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cllm.Reproduction.Sql;
using Cllm.Reproduction.Tokenization;
using Cllm.Tests.TestKit;
using Cllm.Core;

namespace Cllm.Reproduction.Tests;

[Collection(SqlCollection.Name)]
public partial class DomainTokenizerTests(SqlFixture fixture)
{
    [Fact]
    public void TrainerMergesTheMostFrequentPairFirstAndBreaksTiesByText()
    {
        // Pieces: "aab" x3, " aab" x2 (space joins the word), "ab" x1.
        BpeVocabulary v = BpeTrainer.Train(["aab aab", "aab aab", "aab ab"], 262 + 3);
        Assert.Equal(3 + 256 + 3, v.Count);

        // Pair counts: (a,b) 6, (a,a) 5, (Ġ,a) 3 -> "ab" first; then (a,ab) 5 -> "aab"; then (Ġ,aab) 2 = (Ġ,ab) 1...
        Assert.Equal([("a", "b"), ("a", "ab"), ("Ġ", "aab")], v.Merges);
        Assert.Equal(["ab", "aab", "Ġaab"], v.Tokens.Skip(259));
        Assert.Equal([v.IdOf("aab"), v.IdOf("Ġaab"), v.IdOf("Ġ"), v.IdOf("ab")], v.Encode("aab aab ab"));

        // A tie (each pair once, but MinPairCount is 2): nothing is merged.
        Assert.Empty(BpeTrainer.Train(["xy"], 300).Merges);

        // Ties at count 2 go to the smaller text: ("c","d") before ("x","y").
        Assert.Equal(("c", "d"), BpeTrainer.Train(["xy cd", "xy cd"], 260).Merges[0]);
    }

    [Fact]
    public void TrainingIsDeterministic()
    {
        string[] corpus = [.. fixture.Set.Train.Take(500).SelectMany(t => new[] { t.Prompt, t.Sql })];
        BpeVocabulary a = BpeTrainer.Train(corpus, 700), b = BpeTrainer.Train(corpus.Reverse(), 700);
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.Equal(a.Merges, b.Merges);
    }

    [Fact]
    public void PreTokenizerPiecesRebuildTheText()
    {
        const string text = "SELECT singer.name, COUNT(*) FROM singer JOIN album ON singer.id = album.singer_id WHERE age > 30 AND name LIKE 'A%';\n";
        string[] pieces = [.. SqlPreTokenizer.Split(text)];
        Assert.Equal(text, string.Concat(pieces));
        Assert.Equal(
            ["SELECT", " singer.name", ",", " COUNT(*)", " FROM", " singer", " JOIN", " album", " ON", " singer.id", " =", " album.singer_id",
             " WHERE", " age", " >", " 3", "0", " AND", " name", " LIKE", " '", "A", "%';", "\n"],
            pieces);
        Assert.Equal(["schema", ":", " singer(", "id", " name", ")", "\n", "sql", ":", "\n", "SELECT", " AVG(", "age", ");"],
            SqlPreTokenizer.Split("schema: singer(id name)\nsql:\nSELECT AVG(age);"));
    }

    [Fact]
    public void LoadedTokenizerGivesTheReferenceIdsAndRoundTripsOnEveryText()
    {
        CllmTokenizer tokenizer = fixture.Tokenizer;
        foreach (SqlTask task in fixture.All)
        {
            foreach (string text in new[] { task.Prompt, task.Sql, task.Prompt + task.Sql })
            {
                int[] ids = tokenizer.Encode(text, addSpecial: false);
                Assert.Equal(fixture.Vocabulary.Encode(text), ids);
                Assert.Equal(text, tokenizer.Decode(ids));
            }

            // Prompt and answer split on a token boundary: the ids of prompt + answer are the two parts' ids.
            Assert.Equal(
                [.. tokenizer.Encode(task.Prompt, addSpecial: false), .. tokenizer.Encode(task.Sql, addSpecial: false)],
                tokenizer.Encode(task.Prompt + task.Sql, addSpecial: false));
        }
    }

    [Fact]
    public void LoadsWithBosEosAndSpecialTokens()
    {
        CllmTokenizer tokenizer = fixture.Tokenizer;
        Assert.Equal(BpeVocabulary.BosId, tokenizer.BosTokenId);
        Assert.Equal(BpeVocabulary.EosId, tokenizer.EosTokenId);
        Assert.True(tokenizer.AddsBos);
        Assert.False(tokenizer.AddsEos);
        Assert.Equal(fixture.Vocabulary.Count, tokenizer.VocabSize);
        Assert.InRange(tokenizer.VocabSize, 1000, 1280);
        Assert.Equal(new Dictionary<string, int> { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 }, tokenizer.SpecialTokens.OrderBy(p => p.Value).ToDictionary());

        int[] ids = tokenizer.Encode("SELECT name FROM singer;");
        Assert.Equal(BpeVocabulary.BosId, ids[0]);
        Assert.Equal("SELECT name FROM singer;", tokenizer.Decode(ids));
        Assert.Equal("<s>SELECT name FROM singer;</s>", tokenizer.Decode([.. ids, BpeVocabulary.EosId], skipSpecialTokens: false));
        Assert.Equal([BpeVocabulary.BosId, BpeVocabulary.EosId], tokenizer.Encode("<s></s>", addSpecial: false));

        using JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.TokenizerDir, "tokenizer_config.json")));
        Assert.True(config.RootElement.GetProperty("add_bos_token").GetBoolean());
        Assert.Equal("</s>", config.RootElement.GetProperty("eos_token").GetString());
    }

    [Theory]
    [InlineData("SELECT")]
    [InlineData(" FROM")]
    [InlineData(" WHERE")]
    [InlineData(" COUNT(*)")]
    [InlineData(" AVG(")]
    [InlineData(" GROUP")]
    [InlineData(" ORDER")]
    [InlineData(" DESC")]
    [InlineData(" singer")]
    [InlineData(" singer.name")]
    [InlineData(" album.singer_id")]
    [InlineData(" department_id")]
    [InlineData(" employee(")]
    [InlineData("';")]
    [InlineData("France")]
    [InlineData("Midfielder")]
    [InlineData("Xenia")]
    public void DomainWordsAreSingleTokens(string word)
    {
        Assert.Single(fixture.Tokenizer.Encode(word, addSpecial: false));
    }

    [Fact]
    public void LiteralsHaveTheSameTokensInQuestionAndSql()
    {
        CllmTokenizer tokenizer = fixture.Tokenizer;
        foreach (SqlTask task in fixture.Set.Test)
        {
            int[] prompt = tokenizer.Encode(task.Prompt, addSpecial: false);
            int[] sql = tokenizer.Encode(task.Sql, addSpecial: false);
            foreach (Match literal in Literal().Matches(task.Sql))
            {
                int[] ids = tokenizer.Encode(literal.Groups[1].Value, addSpecial: false);
                Assert.True(Contains(prompt, ids) && Contains(sql, ids), $"{literal.Value} in {task.Question} / {task.Sql}");
            }
        }
    }

    [Fact]
    public void AnswersAreShort()
    {
        double answer = fixture.Set.Test.Average(t => fixture.Tokenizer.Encode(t.Sql, addSpecial: false).Length);
        double prompt = fixture.Set.Test.Average(t => fixture.Tokenizer.Encode(t.Prompt).Length);
        Assert.InRange(answer, 10, 20);
        Assert.InRange(prompt, 30, 45);
    }

    [Fact]
    public void FolderLoadsWithoutTheTrainingData()
    {
        using var folder = new TempFolder();
        TokenizerFolderWriter.Write(BpeTrainer.Train(["SELECT name FROM singer;"], 270), folder.Path);
        CllmTokenizer tokenizer = CllmTokenizer.FromDirectory(folder.Path);
        Assert.Equal("Café 日本 🙂 \t x", tokenizer.Decode(tokenizer.Encode("Café 日本 🙂 \t x")));
    }

    private static bool Contains(int[] haystack, int[] needle) =>
        Enumerable.Range(0, haystack.Length - needle.Length + 1).Any(i => haystack.AsSpan(i, needle.Length).SequenceEqual(needle));

    /// <summary>A quoted literal's letters (without quotes and LIKE's %), or a number after a space.</summary>
    [GeneratedRegex(@"'([A-Za-z]+)%?'|(?<= )(\d+)")]
    private static partial Regex Literal();
}
