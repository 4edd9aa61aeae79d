using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;

namespace Cllm.Reproduction.Tokenization;

/// <summary>
/// The pre-tokenizer of the domain tokenizer: the regex that cuts text into pieces before BPE. It is written
/// into <c>tokenizer.json</c> as a <c>Split</c> step, so training and loading cut text the same way.
/// </summary>
/// <remarks>
/// Pieces, each with at most one leading space: identifiers with an optional table prefix and an optional
/// <c>(</c> or <c>(*)</c> suffix (" COUNT(*)", " AVG(", " singer.name", " singer("); single digits (as LLaMA and DeepSeek tokenizers: a number copies digit by digit from question to SQL, with ten digit tokens instead of hundreds of rare number tokens); runs of
/// punctuation ("';", " ="); whitespace. A quoted literal's letters are a piece of their own, so 'France' has
/// the same tokens in the question as in the SQL.
/// </remarks>
public static partial class SqlPreTokenizer
{
    /// <summary>The regex (Hugging Face <c>Split</c> with behaviour <c>Isolated</c>).</summary>
    public const string Pattern =
        @" ?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?(?:\(\*\)|\()?| ?[0-9]| ?[^\sA-Za-z0-9_]+|\s+(?!\S)|\s+";

    /// <summary>The pieces of <paramref name="text"/>, in order; they concatenate back to the text.</summary>
    public static IEnumerable<string> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (Match match in Regex().Matches(text))
        {
            yield return match.Value;
        }
    }

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex Regex();
}
