using System.Text;

namespace Cllm.Reproduction.Tokenization;

/// <summary>
/// The byte-to-character table of byte-level BPE vocabularies (as GPT-2's): bytes that are printable
/// characters stand for themselves, the others map in order to U+0100 onwards (space becomes "Ġ").
/// </summary>
internal static class ByteLevelSymbols
{
    private static readonly char[] Table = Build();

    /// <summary>The vocabulary character of byte <paramref name="b"/>.</summary>
    public static char Of(byte b) => Table[b];

    /// <summary>The UTF-8 bytes of <paramref name="text"/> as vocabulary characters.</summary>
    public static string Encode(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            chars[i] = Table[bytes[i]];
        }

        return new string(chars);
    }

    private static char[] Build()
    {
        var table = new char[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool keeps = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = keeps ? (char)b : (char)(0x100 + shifted++);
        }

        return table;
    }
}
