using System;
using System.Text;

namespace Cllm.Core;

/// <summary>
/// The GPT-2 byte-to-character table used by byte-level BPE vocabularies: printable bytes map to
/// themselves, the other 68 bytes (controls, space, DEL, NBSP, soft hyphen...) to U+0100 onwards.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = Build();

    /// <summary>The vocabulary character that stands for byte <paramref name="b"/>.</summary>
    public static char CharFor(byte b) => ByteToChar[b];

    /// <summary>Maps the UTF-8 bytes of <paramref name="text"/> to vocabulary characters (" a" becomes "Ġa").</summary>
    public static string Encode(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteToChar[bytes[i]];
        }

        return new string(chars);
    }

    private static char[] Build()
    {
        var table = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            table[b] = printable ? (char)b : (char)(256 + next++);
        }

        return table;
    }
}
