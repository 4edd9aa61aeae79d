using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm.Reproduction.Tokenization;

/// <summary>
/// Trains a byte-level BPE vocabulary: cut the texts with <see cref="SqlPreTokenizer"/>, count the pieces,
/// then repeatedly merge the most frequent adjacent pair of symbols (ties broken by the pair's text, ordinal)
/// until the vocabulary has the requested size or no pair occurs twice.
/// </summary>
public static class BpeTrainer
{
    /// <summary>A pair must occur at least this often to be merged.</summary>
    public const int MinPairCount = 2;

    /// <summary>Trains on <paramref name="texts"/> up to <paramref name="vocabSize"/> ids (specials and bytes included).</summary>
    public static BpeVocabulary Train(IEnumerable<string> texts, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, BpeVocabulary.SpecialCount + 256);

        var pieceCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string text in texts)
        {
            foreach (string piece in SqlPreTokenizer.Split(text))
            {
                string bytes = ByteLevelSymbols.Encode(piece);
                pieceCounts[bytes] = pieceCounts.GetValueOrDefault(bytes) + 1;
            }
        }

        var tokens = new List<string> { BpeVocabulary.UnknownToken, BpeVocabulary.BosToken, BpeVocabulary.EosToken };
        for (int b = 0; b < 256; b++)
        {
            tokens.Add(ByteLevelSymbols.Of((byte)b).ToString());
        }

        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < tokens.Count; id++)
        {
            ids[tokens[id]] = id;
        }

        // Words in ordinal order so that nothing depends on hash order.
        string[] words = [.. pieceCounts.Keys.Order(StringComparer.Ordinal)];
        long[] counts = [.. words.Select(w => pieceCounts[w])];
        List<int>[] symbols = [.. words.Select(w => w.Select(c => ids[c.ToString()]).ToList())];
        var merges = new List<(string, string)>();

        while (tokens.Count < vocabSize)
        {
            if (BestPair(symbols, counts, tokens) is not (int left, int right))
            {
                break;
            }

            string merged = tokens[left] + tokens[right];
            if (!ids.TryGetValue(merged, out int mergedId))
            {
                mergedId = tokens.Count;
                tokens.Add(merged);
                ids[merged] = mergedId;
            }

            merges.Add((tokens[left], tokens[right]));
            foreach (List<int> word in symbols)
            {
                Apply(word, left, right, mergedId);
            }
        }

        return new BpeVocabulary(tokens, merges);
    }

    private static (int Left, int Right)? BestPair(List<int>[] symbols, long[] counts, List<string> tokens)
    {
        var pairCounts = new Dictionary<(int, int), long>();
        for (int w = 0; w < symbols.Length; w++)
        {
            List<int> word = symbols[w];
            for (int i = 0; i + 1 < word.Count; i++)
            {
                (int, int) pair = (word[i], word[i + 1]);
                pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + counts[w];
            }
        }

        (int, int)? best = null;
        long bestCount = MinPairCount - 1;
        foreach (((int a, int b), long count) in pairCounts)
        {
            if (count > bestCount || (count == bestCount && best is (int ba, int bb) && Before(tokens, (a, b), (ba, bb))))
            {
                best = (a, b);
                bestCount = count;
            }
        }

        return best;
    }

    /// <summary>Orders tied pairs by left token text, then right token text (ordinal).</summary>
    private static bool Before(List<string> tokens, (int A, int B) x, (int A, int B) y)
    {
        int byLeft = string.CompareOrdinal(tokens[x.A], tokens[y.A]);
        return byLeft != 0 ? byLeft < 0 : string.CompareOrdinal(tokens[x.B], tokens[y.B]) < 0;
    }

    /// <summary>Replaces each non-overlapping (left, right), left to right, by the merged symbol.</summary>
    private static void Apply(List<int> word, int left, int right, int merged)
    {
        int write = 0;
        for (int read = 0; read < word.Count; read++)
        {
            if (read + 1 < word.Count && word[read] == left && word[read + 1] == right)
            {
                word[write++] = merged;
                read++;
            }
            else
            {
                word[write++] = word[read];
            }
        }

        word.RemoveRange(write, word.Count - write);
    }
}
