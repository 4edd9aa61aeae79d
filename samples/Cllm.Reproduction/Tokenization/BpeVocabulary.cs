using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm.Reproduction.Tokenization;

/// <summary>
/// A trained byte-level BPE vocabulary: special tokens at ids 0–2, the 256 byte symbols, then the merged
/// tokens; and the merges in rank order. <see cref="Encode"/> is a plain reference implementation of BPE
/// encoding with these merges (pre-tokenize, then repeatedly merge the lowest-ranked adjacent pair).
/// </summary>
public sealed class BpeVocabulary
{
    /// <summary>The unknown/padding token.</summary>
    public const string UnknownToken = "<unk>";

    /// <summary>The beginning-of-sequence token.</summary>
    public const string BosToken = "<s>";

    /// <summary>The end-of-sequence token.</summary>
    public const string EosToken = "</s>";

    /// <summary>The id of <see cref="UnknownToken"/>, also used for padding.</summary>
    public const int UnknownId = 0;

    /// <summary>The id of <see cref="BosToken"/>.</summary>
    public const int BosId = 1;

    /// <summary>The id of <see cref="EosToken"/>.</summary>
    public const int EosId = 2;

    /// <summary>The number of special tokens before the byte symbols.</summary>
    public const int SpecialCount = 3;

    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<(string, string), int> _ranks;

    /// <summary>Creates a vocabulary from its tokens (by id) and merges (by rank).</summary>
    public BpeVocabulary(IReadOnlyList<string> tokens, IReadOnlyList<(string Left, string Right)> merges)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(merges);
        if (tokens.Count < SpecialCount + 256 || tokens[UnknownId] != UnknownToken || tokens[BosId] != BosToken || tokens[EosId] != EosToken)
        {
            throw new ArgumentException("tokens must start with <unk>, <s>, </s> and the 256 byte symbols", nameof(tokens));
        }

        Tokens = tokens;
        Merges = merges;
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < tokens.Count; id++)
        {
            if (!_ids.TryAdd(tokens[id], id))
            {
                throw new ArgumentException($"token '{tokens[id]}' appears twice", nameof(tokens));
            }
        }

        _ranks = [];
        for (int rank = 0; rank < merges.Count; rank++)
        {
            (string left, string right) = merges[rank];
            if (!_ids.ContainsKey(left) || !_ids.ContainsKey(right) || !_ids.ContainsKey(left + right))
            {
                throw new ArgumentException($"merge '{left} {right}' uses a token that is not in the vocabulary", nameof(merges));
            }

            _ranks.TryAdd((left, right), rank);
        }
    }

    /// <summary>The tokens by id, in byte-level form (" SELECT" is "ĠSELECT").</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>The merges by rank.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges { get; }

    /// <summary>The number of ids.</summary>
    public int Count => Tokens.Count;

    /// <summary>The id of the byte symbol of <paramref name="b"/>.</summary>
    public static int ByteId(byte b) => SpecialCount + b;

    /// <summary>The id of a byte-level token, or -1.</summary>
    public int IdOf(string token) => _ids.TryGetValue(token, out int id) ? id : -1;

    /// <summary>Encodes <paramref name="text"/> without special tokens.</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int>();
        foreach (string piece in SqlPreTokenizer.Split(text))
        {
            ids.AddRange(EncodePiece(ByteLevelSymbols.Encode(piece)).Select(s => _ids[s]));
        }

        return [.. ids];
    }

    private List<string> EncodePiece(string symbols)
    {
        var parts = symbols.Select(c => c.ToString()).ToList();
        while (parts.Count > 1)
        {
            int best = int.MaxValue;
            for (int i = 0; i + 1 < parts.Count; i++)
            {
                if (_ranks.TryGetValue((parts[i], parts[i + 1]), out int rank) && rank < best)
                {
                    best = rank;
                }
            }

            if (best == int.MaxValue)
            {
                break;
            }

            (string left, string right) = Merges[best];
            var merged = new List<string>(parts.Count);
            for (int i = 0; i < parts.Count; i++)
            {
                if (i + 1 < parts.Count && parts[i] == left && parts[i + 1] == right)
                {
                    merged.Add(left + right);
                    i++;
                }
                else
                {
                    merged.Add(parts[i]);
                }
            }

            parts = merged;
        }

        return parts;
    }
}
