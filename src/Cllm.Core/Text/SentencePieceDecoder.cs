using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Cllm.Core;

/// <summary>
/// Decodes SentencePiece ids the way Hugging Face's LLaMA tokenizer does: pieces with "▁" turned into
/// spaces, byte-fallback tokens joined into UTF-8, special tokens as their text, then one leading space
/// dropped (the dummy prefix). Microsoft.ML.Tokenizers instead drops the space of the first word piece
/// even after byte tokens (it decodes [&lt;0x0A&gt;, ▁a] as "\na", Hugging Face as "\n a").
/// </summary>
/// <remarks>
/// Invalid or incomplete UTF-8 becomes one U+FFFD per byte, as in SentencePiece itself, so that decoding
/// is local: text cut at a character boundary decodes to the two halves' texts.
/// </remarks>
internal sealed class SentencePieceDecoder
{
    private const char WordBoundary = '\u2581';

    private readonly string?[] _text;
    private readonly int[] _byte;
    private readonly bool _dropLeadingSpace;

    public SentencePieceDecoder(SentencePieceTokenizer sp)
    {
        ArgumentNullException.ThrowIfNull(sp);
        IReadOnlyDictionary<string, int> specials = sp.SpecialTokens ?? new Dictionary<string, int>();
        int size = sp.Vocabulary.Values.Concat(specials.Values).DefaultIfEmpty(-1).Max() + 1;
        _text = new string?[size];
        _byte = Enumerable.Repeat(-1, size).ToArray();
        foreach ((string piece, int id) in sp.Vocabulary)
        {
            if (sp.ByteFallback && TryParseBytePiece(piece, out byte value))
            {
                _byte[id] = value;
            }
            else
            {
                _text[id] = sp.EscapeWhiteSpaces ? piece.Replace(WordBoundary, ' ') : piece;
            }
        }

        // Added special tokens decode to their own text, never through the "▁" replacement.
        foreach ((string content, int id) in specials)
        {
            _text[id] = content;
            _byte[id] = -1;
        }

        _dropLeadingSpace = sp.AddDummyPrefix;
    }

    public string Decode(IEnumerable<int> ids)
    {
        var text = new StringBuilder();
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (id < 0 || id >= _text.Length)
            {
                continue;
            }

            if (_byte[id] >= 0)
            {
                bytes.Add((byte)_byte[id]);
            }
            else if (_text[id] is string piece)
            {
                AppendUtf8(text, bytes);
                text.Append(piece);
            }
        }

        AppendUtf8(text, bytes);
        if (_dropLeadingSpace && text.Length > 0 && text[0] == ' ')
        {
            text.Remove(0, 1);
        }

        return text.ToString();
    }

    /// <summary>Appends the decoded bytes (one U+FFFD per byte that is not part of a valid character) and clears them.</summary>
    private static void AppendUtf8(StringBuilder text, List<byte> bytes)
    {
        if (bytes.Count == 0)
        {
            return;
        }

        ReadOnlySpan<byte> rest = CollectionsMarshal.AsSpan(bytes);
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(rest, out Rune rune, out int consumed) == OperationStatus.Done)
            {
                text.Append(rune.ToString());
                rest = rest[consumed..];
            }
            else
            {
                text.Append('\uFFFD');
                rest = rest[1..];
            }
        }

        bytes.Clear();
    }

    private static bool TryParseBytePiece(string piece, out byte value)
    {
        value = 0;
        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out value);
    }
}
