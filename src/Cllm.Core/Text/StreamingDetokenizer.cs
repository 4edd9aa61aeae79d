using System;
using System.Collections.Generic;

namespace Cllm.Core;

/// <summary>
/// Turns a stream of generated token ids into text pieces as soon as they are complete. The pieces of
/// <see cref="Push"/> followed by <see cref="Flush"/> always concatenate to <see cref="CllmTokenizer.Decode"/>
/// of all the ids: a character split over several byte tokens is held back until its last byte arrives,
/// and SentencePiece word-boundary spaces are kept.
/// </summary>
/// <remarks>
/// Like Hugging Face's TextStreamer, each step decodes a short window of recent tokens and emits what the
/// window gained. The window starts at the tokens of the previous emission: they end on a whole character
/// and produced text, so the leading space SentencePiece decoding drops is one that was already emitted.
/// </remarks>
internal sealed class StreamingDetokenizer
{
    private const char Replacement = '\uFFFD';

    private readonly CllmTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly List<int> _ids = [];
    private int _windowStart;
    private int _emittedEnd;
    private string _emittedWindowText = string.Empty;

    /// <summary>Creates a detokenizer for one generated sequence.</summary>
    /// <param name="tokenizer">The tokenizer that produced the ids.</param>
    /// <param name="skipSpecialTokens">Passed to <see cref="CllmTokenizer.Decode"/>.</param>
    public StreamingDetokenizer(CllmTokenizer tokenizer, bool skipSpecialTokens = true)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one token id and returns the text it completes (often empty).</summary>
    public string Push(int tokenId)
    {
        _ids.Add(tokenId);
        string text = DecodeWindow(_windowStart, _ids.Count);
        if (text.Length <= _emittedWindowText.Length || text[^1] == Replacement)
        {
            // Nothing new, or the text ends inside an incomplete UTF-8 sequence: wait for more tokens.
            return string.Empty;
        }

        string piece = text[_emittedWindowText.Length..];

        // The next window starts at this emission's tokens. They produced text, so a leading space that
        // decoding the window drops (SentencePiece) comes from them, inside the part not emitted again.
        _windowStart = _emittedEnd;
        _emittedEnd = _ids.Count;
        _emittedWindowText = DecodeWindow(_windowStart, _emittedEnd);
        return piece;
    }

    /// <summary>Returns the text still held back (possibly ending in U+FFFD) and starts a new sequence.</summary>
    public string Flush()
    {
        string text = DecodeWindow(_windowStart, _ids.Count);
        string rest = text.Length > _emittedWindowText.Length ? text[_emittedWindowText.Length..] : string.Empty;
        _ids.Clear();
        _windowStart = 0;
        _emittedEnd = 0;
        _emittedWindowText = string.Empty;
        return rest;
    }

    private string DecodeWindow(int start, int end) =>
        start == end ? string.Empty : _tokenizer.Decode(_ids.GetRange(start, end - start), _skipSpecialTokens);
}
