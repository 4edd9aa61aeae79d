using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Cllm.Core;

/// <summary>
/// A pre-tokenizer that first cuts out special tokens, then applies a sequence of split steps, each to
/// every piece the previous step produced (a Hugging Face <c>Sequence</c> of <c>Split</c>/<c>Digits</c>).
/// Unlike <see cref="RegexPreTokenizer"/> it keeps the text between matches, so no character is lost.
/// </summary>
internal sealed class SplitPreTokenizer : PreTokenizer
{
    private readonly SplitStep[] _steps;
    private readonly Regex? _specialTokens;

    public SplitPreTokenizer(IReadOnlyList<SplitStep> steps, IReadOnlyDictionary<string, int>? specialTokens)
    {
        ArgumentNullException.ThrowIfNull(steps);
        _steps = [.. steps];
        string[] specials = specialTokens?.Keys.Where(k => k.Length > 0).OrderByDescending(k => k.Length).ToArray() ?? [];
        if (specials.Length > 0)
        {
            // Longest first, so that of two specials starting at the same place the longer one wins.
            _specialTokens = new Regex(string.Join("|", specials.Select(Regex.Escape)), RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<(int Offset, int Length)>();
        int position = 0;
        if (_specialTokens is not null)
        {
            foreach (ValueMatch m in _specialTokens.EnumerateMatches(text))
            {
                SplitPlain(text, position, m.Index - position, result);
                result.Add((m.Index, m.Length));
                position = m.Index + m.Length;
            }
        }

        SplitPlain(text, position, text.Length - position, result);
        return result;
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => PreTokenize(text.ToString());

    private void SplitPlain(string text, int offset, int length, List<(int Offset, int Length)> result)
    {
        if (length == 0)
        {
            return;
        }

        var pieces = new List<(int Offset, int Length)> { (offset, length) };
        foreach (SplitStep step in _steps)
        {
            var next = new List<(int Offset, int Length)>(pieces.Count * 2);
            foreach ((int pieceOffset, int pieceLength) in pieces)
            {
                step.Split(text, pieceOffset, pieceLength, next);
            }

            pieces = next;
        }

        result.AddRange(pieces);
    }
}
