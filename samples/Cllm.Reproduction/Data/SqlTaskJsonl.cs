using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Cllm.Reproduction.Sql;

namespace Cllm.Reproduction.Data;

/// <summary>
/// Task files: one JSON object per line with <c>prompt</c>, <c>answer</c> (the gold SQL exactly as the model
/// emits it after the prompt), <c>db_id</c>, and for analysis <c>question</c> and <c>construct</c>.
/// </summary>
public static class SqlTaskJsonl
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes <paramref name="tasks"/> to <paramref name="path"/> (UTF-8, "\n" line ends).</summary>
    public static void Write(string path, IEnumerable<SqlTask> tasks)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tasks);
        using var stream = File.Create(path);
        foreach (SqlTask task in tasks)
        {
            using (var writer = new Utf8JsonWriter(stream, Options))
            {
                writer.WriteStartObject();
                writer.WriteString("prompt", task.Prompt);
                writer.WriteString("answer", task.Sql);
                writer.WriteString("db_id", task.DbId);
                writer.WriteString("question", task.Question);
                writer.WriteString("construct", task.Construct.ToString());
                writer.WriteEndObject();
            }

            stream.WriteByte((byte)'\n');
        }
    }

    /// <summary>Reads a task file; <c>question</c> and <c>construct</c> are optional.</summary>
    /// <exception cref="FormatException">A line is not a task object ("file:line: problem").</exception>
    public static List<SqlTask> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var tasks = new List<SqlTask>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path, Encoding.UTF8))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using JsonDocument doc = JsonDocument.Parse(line);
                JsonElement root = doc.RootElement;
                string prompt = Required(root, "prompt");
                string answer = Required(root, "answer");
                string dbId = Required(root, "db_id");
                string question = root.TryGetProperty("question", out JsonElement q) ? q.GetString() ?? "" : "";
                SqlConstruct construct = root.TryGetProperty("construct", out JsonElement c) && Enum.TryParse(c.GetString(), out SqlConstruct parsed)
                    ? parsed
                    : default;
                tasks.Add(new SqlTask(dbId, question, prompt, answer, construct));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
            {
                throw new FormatException($"{path}:{lineNumber}: {e.Message}", e);
            }
        }

        return tasks;
    }

    private static string Required(JsonElement root, string name) =>
        root.GetProperty(name).GetString() ?? throw new InvalidOperationException($"\"{name}\" is null");
}
