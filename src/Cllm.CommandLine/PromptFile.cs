using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Cllm.Training;

namespace Cllm.CommandLine;

/// <summary>Reads a prompts JSONL file: one object per line with a string field <c>prompt</c>; other fields are ignored.</summary>
internal static class PromptFile
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The prompts in file order; a malformed line fails with "file:line: problem". Blank lines are skipped.</summary>
    public static List<string> Read(string path) => ReadNumbered(path).Select(p => p.Text).ToList();

    /// <summary>
    /// The prompts in file order with their 1-based line numbers. Lines must be UTF-8 (invalid bytes are refused rather
    /// than turned into U+FFFD) and prompts valid UTF-16 (a lone surrogate escape such as "\ud800" is refused).
    /// </summary>
    public static List<(int Line, string Text)> ReadNumbered(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"--prompts {path}: file not found.", path);
        }

        var prompts = new List<(int, string)>();
        int lineNumber = 0;
        foreach (var bytes in Lines(File.ReadAllBytes(path)))
        {
            lineNumber++;
            string line;
            try
            {
                line = StrictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException ex)
            {
                throw new FormatException($"{path}:{lineNumber}: not valid UTF-8 (byte 0x{ex.BytesUnknown?.FirstOrDefault():X2} at column {ex.Index + 1}); save the file as UTF-8.", ex);
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("prompt", out var prompt) || prompt.ValueKind != JsonValueKind.String)
                {
                    throw new FormatException($"{path}:{lineNumber}: expected an object with a string field \"prompt\".");
                }

                prompts.Add((lineNumber, prompt.GetString()!));
            }
            catch (JsonException ex)
            {
                throw new FormatException($"{path}:{lineNumber}: {JsonLineError.Describe(ex)}.", ex);
            }
            catch (InvalidOperationException ex)
            {
                // System.Text.Json refuses a string with a lone surrogate escape only when it is read.
                throw new FormatException($"{path}:{lineNumber}: the prompt is not valid Unicode text (a lone surrogate escape such as \\ud800 without its pair).", ex);
            }
        }

        if (prompts.Count == 0)
        {
            throw new FormatException($"{path}: no prompts.");
        }

        return prompts;
    }

    /// <summary>The file split at '\n' (a trailing '\r' and a leading UTF-8 byte order mark are dropped).</summary>
    private static IEnumerable<byte[]> Lines(byte[] data)
    {
        int start = data.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0;
        while (start < data.Length)
        {
            int end = Array.IndexOf(data, (byte)'\n', start);
            int stop = end < 0 ? data.Length : end;
            int length = stop - start;
            if (length > 0 && data[stop - 1] == (byte)'\r')
            {
                length--;
            }

            yield return data.AsSpan(start, length).ToArray();
            start = stop + 1;
        }
    }
}
