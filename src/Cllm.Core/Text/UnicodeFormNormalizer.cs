using System;
using System.Collections.Generic;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Cllm.Core;

/// <summary>
/// Applies Unicode normalisation forms in order, like a Hugging Face normalizer of type NFC, NFD,
/// NFKC or NFKD (or a Sequence of them). Qwen2-style tokenizers use NFC.
/// </summary>
internal sealed class UnicodeFormNormalizer : Normalizer
{
    private readonly NormalizationForm[] _forms;

    public UnicodeFormNormalizer(IReadOnlyList<NormalizationForm> forms)
    {
        _forms = [.. forms];
    }

    /// <summary>The forms, in the order they are applied.</summary>
    public IReadOnlyList<NormalizationForm> Forms => _forms;

    public override string Normalize(string original)
    {
        ArgumentNullException.ThrowIfNull(original);
        string text = original;
        foreach (NormalizationForm form in _forms)
        {
            text = text.Normalize(form);
        }

        return text;
    }

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
