using System;
using System.Collections.Generic;
using System.Text;

namespace Cllm;

/// <summary>
/// Text-level stop sequences for streamed output: releases text only when it cannot be the start of a stop
/// sequence, and reports the first complete match (the stop sequence itself is never released).
/// </summary>
internal sealed class TextStopMatcher
{
    private readonly IReadOnlyList<string> _stops;
    private readonly StringBuilder _pending = new();

    public TextStopMatcher(IReadOnlyList<string> stops) => _stops = stops;

    /// <summary>True once a stop sequence has appeared.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds streamed text; returns what may be shown now.</summary>
    public string Push(string text)
    {
        if (Stopped || text.Length == 0)
        {
            return string.Empty;
        }

        _pending.Append(text);
        string buffer = _pending.ToString();
        int cut = -1;
        foreach (var stop in _stops)
        {
            int at = stop.Length == 0 ? -1 : buffer.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut))
            {
                cut = at;
            }
        }

        if (cut >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return buffer[..cut];
        }

        int hold = 0;
        foreach (var stop in _stops)
        {
            for (int len = Math.Min(stop.Length - 1, buffer.Length); len > hold; len--)
            {
                if (buffer.AsSpan(buffer.Length - len).SequenceEqual(stop.AsSpan(0, len)))
                {
                    hold = len;
                    break;
                }
            }
        }

        _pending.Clear().Append(buffer, buffer.Length - hold, hold);
        return buffer[..^hold];
    }

    /// <summary>The held-back text at the end of the stream.</summary>
    public string Flush()
    {
        string rest = Stopped ? string.Empty : _pending.ToString();
        _pending.Clear();
        return rest;
    }
}
