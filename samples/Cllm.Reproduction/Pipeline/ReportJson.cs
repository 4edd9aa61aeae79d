using System;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cllm.Reproduction.Pipeline;

/// <summary>The JSON files of the pipeline: snake_case, indented, NaN allowed, written atomically.</summary>
public static class ReportJson
{
    /// <summary>The serializer settings.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes <paramref name="value"/> to <paramref name="path"/> through a temporary file.</summary>
    public static void Write<T>(string path, T value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(value, Options) + "\n");
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a file written by <see cref="Write{T}"/>.</summary>
    public static T Read<T>(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options)
            ?? throw new InvalidDataException($"{path}: empty JSON.");
    }
}
