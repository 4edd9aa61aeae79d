using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;

namespace Cllm.Core;

/// <summary>One <c>Split</c> (or <c>Digits</c>, or ByteLevel regex) step of a Hugging Face pre-tokenizer.</summary>
internal sealed class SplitStep
{
    public SplitStep(Regex pattern, SplitBehavior behavior, bool invert = false)
    {
        Pattern = pattern ?? throw new ArgumentNullException(nameof(pattern));
        Behavior = behavior;
        Invert = invert;
    }

    public Regex Pattern { get; }

    public SplitBehavior Behavior { get; }

    /// <summary>When true the pattern describes the text between the delimiters.</summary>
    public bool Invert { get; }

    /// <summary>Splits <c>text[offset..offset+length]</c> and appends the pieces to <paramref name="output"/>.</summary>
    public void Split(string text, int offset, int length, List<(int Offset, int Length)> output)
    {
        // Cut the piece into alternating (start, end, isDelimiter) parts. The regex sees the piece alone,
        // as Hugging Face applies it to each piece's own string. Empty matches are ignored.
        var parts = new List<(int Start, int End, bool IsMatch)>();
        int previous = offset;
        foreach (ValueMatch m in Pattern.EnumerateMatches(text.AsSpan(offset, length)))
        {
            if (m.Length == 0)
            {
                continue;
            }

            int start = offset + m.Index;
            if (start > previous)
            {
                parts.Add((previous, start, Invert));
            }

            parts.Add((start, start + m.Length, !Invert));
            previous = start + m.Length;
        }

        if (previous < offset + length)
        {
            parts.Add((previous, offset + length, Invert));
        }

        foreach ((int start, int end) in Combine(parts))
        {
            output.Add((start, end - start));
        }
    }

    private List<(int Start, int End)> Combine(List<(int Start, int End, bool IsMatch)> parts)
    {
        var pieces = new List<(int Start, int End)>(parts.Count);
        bool previousMatch = false;
        switch (Behavior)
        {
            case SplitBehavior.Isolated:
                parts.ForEach(p => pieces.Add((p.Start, p.End)));
                break;
            case SplitBehavior.Removed:
                parts.FindAll(p => !p.IsMatch).ForEach(p => pieces.Add((p.Start, p.End)));
                break;
            case SplitBehavior.MergedWithPrevious:
                foreach (var p in parts)
                {
                    if (p.IsMatch && !previousMatch && pieces.Count > 0)
                    {
                        pieces[^1] = (pieces[^1].Start, p.End);
                    }
                    else
                    {
                        pieces.Add((p.Start, p.End));
                    }

                    previousMatch = p.IsMatch;
                }

                break;
            case SplitBehavior.MergedWithNext:
                for (int i = parts.Count - 1; i >= 0; i--)
                {
                    var p = parts[i];
                    if (p.IsMatch && !previousMatch && pieces.Count > 0)
                    {
                        pieces[^1] = (p.Start, pieces[^1].End);
                    }
                    else
                    {
                        pieces.Add((p.Start, p.End));
                    }

                    previousMatch = p.IsMatch;
                }

                pieces.Reverse();
                break;
            case SplitBehavior.Contiguous:
                for (int i = 0; i < parts.Count; i++)
                {
                    if (i > 0 && parts[i].IsMatch == parts[i - 1].IsMatch)
                    {
                        pieces[^1] = (pieces[^1].Start, parts[i].End);
                    }
                    else
                    {
                        pieces.Add((parts[i].Start, parts[i].End));
                    }
                }

                break;
            default:
                throw new InvalidOperationException($"Unknown split behaviour {Behavior}.");
        }

        return pieces;
    }
}
