using System;
using System.IO;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Cllm.Reproduction.Tokenization;

/// <summary>
/// Writes a <see cref="BpeVocabulary"/> as a Hugging Face tokenizer folder: <c>tokenizer.json</c> (byte-level
/// BPE; <see cref="SqlPreTokenizer.Pattern"/> as a Split step before a regex-free ByteLevel step; a
/// TemplateProcessing that puts <c>&lt;s&gt;</c> first) and <c>tokenizer_config.json</c> (add BOS, no EOS).
/// <c>Cllm.Core.CllmTokenizer.FromDirectory</c> and <c>transformers.AutoTokenizer</c> read it.
/// </summary>
public static class TokenizerFolderWriter
{
    /// <summary>The longest sequence the tokenizer config announces.</summary>
    public const int ModelMaxLength = 512;

    private static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes both files into <paramref name="dir"/> (created when missing).</summary>
    public static void Write(BpeVocabulary vocabulary, string dir)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(dir);
        Directory.CreateDirectory(dir);
        WriteJson(Path.Combine(dir, "tokenizer.json"), w => WriteTokenizer(w, vocabulary));
        WriteJson(Path.Combine(dir, "tokenizer_config.json"), WriteConfig);
    }

    private static void WriteJson(string path, Action<Utf8JsonWriter> write)
    {
        using FileStream stream = File.Create(path);
        using var writer = new Utf8JsonWriter(stream, Options);
        write(writer);
    }

    private static void WriteTokenizer(Utf8JsonWriter w, BpeVocabulary vocabulary)
    {
        w.WriteStartObject();
        w.WriteString("version", "1.0");
        w.WriteNull("truncation");
        w.WriteNull("padding");
        w.WriteStartArray("added_tokens");
        for (int id = 0; id < BpeVocabulary.SpecialCount; id++)
        {
            w.WriteStartObject();
            w.WriteNumber("id", id);
            w.WriteString("content", vocabulary.Tokens[id]);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("special", true);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteNull("normalizer");

        w.WriteStartObject("pre_tokenizer");
        w.WriteString("type", "Sequence");
        w.WriteStartArray("pretokenizers");
        w.WriteStartObject();
        w.WriteString("type", "Split");
        w.WriteStartObject("pattern");
        w.WriteString("Regex", SqlPreTokenizer.Pattern);
        w.WriteEndObject();
        w.WriteString("behavior", "Isolated");
        w.WriteBoolean("invert", false);
        w.WriteEndObject();
        w.WriteStartObject();
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("trim_offsets", true);
        w.WriteBoolean("use_regex", false);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteStartObject("post_processor");
        w.WriteString("type", "TemplateProcessing");
        w.WriteStartArray("single");
        WriteSpecial(w, BpeVocabulary.BosToken);
        WriteSequence(w, "A");
        w.WriteEndArray();
        w.WriteStartArray("pair");
        WriteSpecial(w, BpeVocabulary.BosToken);
        WriteSequence(w, "A");
        WriteSpecial(w, BpeVocabulary.BosToken);
        WriteSequence(w, "B");
        w.WriteEndArray();
        w.WriteStartObject("special_tokens");
        w.WriteStartObject(BpeVocabulary.BosToken);
        w.WriteString("id", BpeVocabulary.BosToken);
        w.WriteStartArray("ids");
        w.WriteNumberValue(BpeVocabulary.BosId);
        w.WriteEndArray();
        w.WriteStartArray("tokens");
        w.WriteStringValue(BpeVocabulary.BosToken);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteStartObject("decoder");
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("trim_offsets", true);
        w.WriteBoolean("use_regex", false);
        w.WriteEndObject();

        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteNull("dropout");
        w.WriteNull("unk_token");
        w.WriteNull("continuing_subword_prefix");
        w.WriteNull("end_of_word_suffix");
        w.WriteBoolean("fuse_unk", false);
        w.WriteBoolean("byte_fallback", false);
        w.WriteBoolean("ignore_merges", false);
        w.WriteStartObject("vocab");
        for (int id = 0; id < vocabulary.Count; id++)
        {
            w.WriteNumber(vocabulary.Tokens[id], id);
        }

        w.WriteEndObject();
        w.WriteStartArray("merges");
        foreach ((string left, string right) in vocabulary.Merges)
        {
            w.WriteStartArray();
            w.WriteStringValue(left);
            w.WriteStringValue(right);
            w.WriteEndArray();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteSpecial(Utf8JsonWriter w, string token)
    {
        w.WriteStartObject();
        w.WriteStartObject("SpecialToken");
        w.WriteString("id", token);
        w.WriteNumber("type_id", 0);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteSequence(Utf8JsonWriter w, string id)
    {
        w.WriteStartObject();
        w.WriteStartObject("Sequence");
        w.WriteString("id", id);
        w.WriteNumber("type_id", 0);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteConfig(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteBoolean("add_bos_token", true);
        w.WriteBoolean("add_eos_token", false);
        w.WriteString("bos_token", BpeVocabulary.BosToken);
        w.WriteString("eos_token", BpeVocabulary.EosToken);
        w.WriteString("unk_token", BpeVocabulary.UnknownToken);
        w.WriteString("pad_token", BpeVocabulary.UnknownToken);
        w.WriteNumber("model_max_length", ModelMaxLength);
        w.WriteBoolean("clean_up_tokenization_spaces", false);
        w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
        w.WriteStartObject("added_tokens_decoder");
        string[] specials = [BpeVocabulary.UnknownToken, BpeVocabulary.BosToken, BpeVocabulary.EosToken];
        for (int id = 0; id < specials.Length; id++)
        {
            w.WriteStartObject(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("content", specials[id]);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("special", true);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }
}
