using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using Cllm.Core;

namespace Cllm.Tests.Text;

public class SplitPreTokenizerTests
{
    private static string[] Pieces(string text, SplitBehavior behavior, bool invert = false, IReadOnlyDictionary<string, int>? specials = null)
    {
        var pre = new SplitPreTokenizer([new SplitStep(new Regex("-"), behavior, invert)], specials);
        return pre.PreTokenize(text).Select(p => text.Substring(p.Offset, p.Length)).ToArray();
    }

    [Theory]
    [InlineData("Isolated", new[] { "the", "-", "final", "-", "-", "countdown" })]
    [InlineData("Removed", new[] { "the", "final", "countdown" })]
    [InlineData("MergedWithPrevious", new[] { "the-", "final-", "-", "countdown" })]
    [InlineData("MergedWithNext", new[] { "the", "-final", "-", "-countdown" })]
    [InlineData("Contiguous", new[] { "the", "-", "final", "--", "countdown" })]
    public void Behaviours(string behavior, string[] expected)
    {
        Assert.Equal(expected, Pieces("the-final--countdown", Enum.Parse<SplitBehavior>(behavior)));
    }

    [Fact]
    public void InvertSwapsMatchesAndGaps()
    {
        Assert.Equal(new[] { "-", "-", "-" }, Pieces("the-final--countdown", SplitBehavior.Removed, invert: true));
    }

    [Fact]
    public void SpecialTokensAreCutOutFirstAndKeptWhole()
    {
        var specials = new Dictionary<string, int> { ["<x-y>"] = 1, ["<x-y>>"] = 2 };
        Assert.Equal(new[] { "a", "-", "<x-y>>", "b", "<x-y>" }, Pieces("a-<x-y>>b<x-y>", SplitBehavior.Isolated, specials: specials));
    }

    [Fact]
    public void KeepsTextBetweenMatches()
    {
        // Unlike RegexPreTokenizer, which only returns the matches, no character is lost.
        var pre = new SplitPreTokenizer([new SplitStep(new Regex(@"\p{L}+"), SplitBehavior.Isolated)], null);
        const string text = "ab, cd!";
        Assert.Equal(new[] { "ab", ", ", "cd", "!" }, pre.PreTokenize(text).Select(p => text.Substring(p.Offset, p.Length)));
    }
}
