using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace Cllm.Core;

/// <summary>
/// Turns chat messages into prompt token ids the way the checkpoint's own chat template would, for the
/// LLaMA-2, LLaMA-3 and ChatML families, recognised from the template found in <c>tokenizer_config.json</c>
/// (<c>chat_template</c>), <c>chat_template.jinja</c> or <c>chat_template.json</c>. A checkpoint without a
/// template gets the messages' text as the prompt, unchanged. <see cref="Create"/> also renders the Vicuna and
/// DeepSeek-Coder instruction formats the published CLLMs were trained on; those are used only when named.
/// </summary>
internal sealed class ChatTemplate
{
    private readonly CllmTokenizer _tokenizer;

    private ChatTemplate(ChatTemplateKind kind, CllmTokenizer tokenizer)
    {
        Kind = kind;
        _tokenizer = tokenizer;
        var stops = new List<int>();
        foreach (var token in kind switch
        {
            ChatTemplateKind.Llama3 => new[] { "<|eot_id|>", "<|end_of_text|>" },
            ChatTemplateKind.ChatML => new[] { "<|im_end|>", "<|endoftext|>" },
            ChatTemplateKind.Instruction => new[] { "<|EOT|>" },
            _ => Array.Empty<string>(),
        })
        {
            if (tokenizer.SpecialTokens.TryGetValue(token, out int id))
            {
                stops.Add(id);
            }
        }

        StopTokenIds = stops;
    }

    /// <summary>FastChat's vicuna_v1.1 system prompt, used when the messages carry none.</summary>
    public const string VicunaSystemPrompt = "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";

    /// <summary>The recognised family.</summary>
    public ChatTemplateKind Kind { get; }

    /// <summary>Token ids that end an assistant turn in this format (besides the model's EOS ids).</summary>
    public IReadOnlyList<int> StopTokenIds { get; }

    /// <summary>A template of a known kind over <paramref name="tokenizer"/>.</summary>
    public static ChatTemplate Create(ChatTemplateKind kind, CllmTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new ChatTemplate(kind, tokenizer);
    }

    /// <summary>Reads the template of a Hugging Face model folder.</summary>
    public static ChatTemplate FromDirectory(string directory, CllmTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new ChatTemplate(Recognise(FindTemplateText(directory)), tokenizer);
    }

    /// <summary>The family a Jinja template belongs to, by its markers.</summary>
    public static ChatTemplateKind Recognise(string? template) => template switch
    {
        null or "" => ChatTemplateKind.None,
        _ when template.Contains("<|start_header_id|>", StringComparison.Ordinal) => ChatTemplateKind.Llama3,
        _ when template.Contains("<|im_start|>", StringComparison.Ordinal) => ChatTemplateKind.ChatML,
        _ when template.Contains("[INST]", StringComparison.Ordinal) => ChatTemplateKind.Llama2,
        _ => ChatTemplateKind.None,
    };

    /// <summary>
    /// Prompt ids for <paramref name="messages"/> (role: system, user or assistant), ending where the
    /// assistant's next turn begins.
    /// </summary>
    public int[] Encode(IReadOnlyList<(string Role, string Text)> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        switch (Kind)
        {
            case ChatTemplateKind.Llama3:
            {
                var text = new StringBuilder();
                if (_tokenizer.BosTokenId is { } bos && _tokenizer.Decode(new[] { bos }, skipSpecialTokens: false) is { Length: > 0 } bosText)
                {
                    text.Append(bosText);
                }

                foreach (var (role, content) in messages)
                {
                    text.Append("<|start_header_id|>").Append(role).Append("<|end_header_id|>\n\n").Append(content.Trim()).Append("<|eot_id|>");
                }

                text.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                return _tokenizer.Encode(text.ToString(), addSpecial: false);
            }

            case ChatTemplateKind.ChatML:
            {
                var text = new StringBuilder();
                foreach (var (role, content) in messages)
                {
                    text.Append("<|im_start|>").Append(role).Append('\n').Append(content).Append("<|im_end|>\n");
                }

                text.Append("<|im_start|>assistant\n");
                return _tokenizer.Encode(text.ToString(), addSpecial: false);
            }

            case ChatTemplateKind.Llama2:
                return EncodeLlama2(messages);

            case ChatTemplateKind.Vicuna:
            {
                // FastChat vicuna_v1.1: "system USER: text ASSISTANT: answer</s>USER: text ASSISTANT:".
                var ids = new List<int>();
                var text = new StringBuilder(messages.FirstOrDefault(m => m.Role == "system").Text ?? VicunaSystemPrompt).Append(' ');
                foreach (var (role, content) in messages.Where(m => m.Role != "system"))
                {
                    if (role == "user")
                    {
                        text.Append("USER: ").Append(content.Trim()).Append(' ');
                    }
                    else
                    {
                        text.Append("ASSISTANT: ").Append(content.Trim());
                        ids.AddRange(_tokenizer.Encode(text.ToString(), addSpecial: ids.Count == 0));
                        if (_tokenizer.EosTokenId is { } eos)
                        {
                            ids.Add(eos);
                        }

                        text.Clear();
                    }
                }

                text.Append("ASSISTANT:");
                ids.AddRange(_tokenizer.Encode(text.ToString(), addSpecial: ids.Count == 0));
                return ids.ToArray();
            }

            case ChatTemplateKind.Instruction:
            {
                // The reference's build_instruction_prompt: a system text is the start of the instruction.
                var text = new StringBuilder();
                string? system = messages.FirstOrDefault(m => m.Role == "system").Text;
                foreach (var (role, content) in messages.Where(m => m.Role != "system"))
                {
                    if (role == "user")
                    {
                        string instruction = string.IsNullOrEmpty(system) ? content.Trim() : $"{system.Trim()}\n{content.Trim()}";
                        text.Append("### Instruction:\n").Append(instruction).Append("\n### Response:\n");
                        system = null;
                    }
                    else
                    {
                        text.Append(content.Trim()).Append("\n<|EOT|>\n");
                    }
                }

                return _tokenizer.Encode(text.ToString());
            }

            default:
                return _tokenizer.Encode(string.Join("\n", messages.Select(m => m.Text)));
        }
    }

    /// <summary>[BOS] [INST] (system folded into the first user turn) user [/INST] answer [EOS] … [BOS] [INST] user [/INST].</summary>
    private int[] EncodeLlama2(IReadOnlyList<(string Role, string Text)> messages)
    {
        var ids = new List<int>();
        string? system = messages.FirstOrDefault(m => m.Role == "system").Text;
        bool first = true;
        foreach (var (role, content) in messages.Where(m => m.Role != "system"))
        {
            if (role == "user")
            {
                string text = first && !string.IsNullOrEmpty(system) ? $"<<SYS>>\n{system}\n<</SYS>>\n\n{content.Trim()}" : content.Trim();
                if (_tokenizer.BosTokenId is { } bos)
                {
                    ids.Add(bos);
                }

                ids.AddRange(_tokenizer.Encode($"[INST] {text} [/INST]", addSpecial: false));
                first = false;
            }
            else
            {
                ids.AddRange(_tokenizer.Encode($" {content.Trim()} ", addSpecial: false));
                if (_tokenizer.EosTokenId is { } eos)
                {
                    ids.Add(eos);
                }
            }
        }

        return ids.ToArray();
    }

    private static string? FindTemplateText(string directory)
    {
        string jinja = Path.Combine(directory, "chat_template.jinja");
        if (File.Exists(jinja))
        {
            return File.ReadAllText(jinja);
        }

        foreach (var (file, property) in new[] { ("chat_template.json", "chat_template"), ("tokenizer_config.json", "chat_template") })
        {
            string path = Path.Combine(directory, file);
            if (!File.Exists(path))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(path));
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(property, out var value))
                {
                    // A string, or a list of {name, template} with "default" first choice.
                    if (value.ValueKind == JsonValueKind.String)
                    {
                        return value.GetString();
                    }

                    if (value.ValueKind == JsonValueKind.Array)
                    {
                        var named = value.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("template", out _)).ToList();
                        if (named.Count == 0)
                        {
                            return null;
                        }

                        var chosen = named.FirstOrDefault(e => e.TryGetProperty("name", out var n) && n.GetString() == "default");
                        return (chosen.ValueKind == JsonValueKind.Object ? chosen : named.FirstOrDefault()).GetProperty("template").GetString();
                    }
                }
            }
            catch (JsonException ex)
            {
                throw new CheckpointException(path, $"not valid JSON ({ex.Message}).", ex);
            }
        }

        return null;
    }
}
