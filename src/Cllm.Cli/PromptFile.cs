using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;

namespace Cllm.Cli;

/// <summary>Reads a prompts JSONL file: one object per line with a string field <c>prompt</c>; other fields are ignored.</summary>
internal static class PromptFile
{
    /// <summary>The prompts in file order; a malformed line fails with "file:line: problem". Blank lines are skipped.</summary>
    public static List<string> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: prompts file not found.", path);
        }

        var prompts = new List<string>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
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

                prompts.Add(prompt.GetString()!);
            }
            catch (JsonException ex)
            {
                throw new FormatException($"{path}:{lineNumber}: not valid JSON ({ex.Message}).", ex);
            }
        }

        if (prompts.Count == 0)
        {
            throw new FormatException($"{path}: no prompts.");
        }

        return prompts;
    }
}
