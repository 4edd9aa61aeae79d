using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Json;

namespace Cllm.Core;

/// <summary>
/// Typed access to the fields of one JSON object from a checkpoint file (config.json, generation_config.json,
/// an index), turning every type error into a <see cref="CheckpointException"/> that names the file and field.
/// A field that is absent or JSON <c>null</c> counts as missing.
/// </summary>
internal readonly struct JsonFields
{
    private readonly JsonElement _object;

    public JsonFields(string path, JsonElement element, string? context = null)
    {
        Path = path;
        Context = context;
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new CheckpointException(path, $"{Where}is a JSON {Describe(element.ValueKind)}, expected an object");
        }

        _object = element;
    }

    /// <summary>The file the object came from.</summary>
    public string Path { get; }

    /// <summary>For nested objects, the field holding them (e.g. <c>rope_scaling</c>), used in messages.</summary>
    public string? Context { get; }

    public JsonElement Element => _object;

    private string Where => Context is null ? string.Empty : $"'{Context}' ";

    /// <summary>Parses a whole JSON file. Missing, unreadable and malformed files throw <see cref="CheckpointException"/>.</summary>
    public static JsonDocument LoadDocument(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CheckpointException(path, "file not found", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, $"cannot read: {ex.Message}", ex);
        }

        try
        {
            return JsonDocument.Parse(bytes);
        }
        catch (JsonException ex)
        {
            throw new CheckpointException(path, $"not valid JSON: {ex.Message}", ex);
        }
    }

    public bool Has(string name) => _object.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;

    public JsonElement? Get(string name) =>
        _object.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public int RequiredInt(string name) => OptionalInt(name) ?? throw Missing(name);

    public int? OptionalInt(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number))
        {
            return number;
        }

        throw Wrong(name, value, "an integer");
    }

    public double? OptionalDouble(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && double.IsFinite(number))
        {
            return number;
        }

        throw Wrong(name, value, "a number");
    }

    public double RequiredDouble(string name) => OptionalDouble(name) ?? throw Missing(name);

    public bool? OptionalBool(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(name, value, "true or false"),
        };
    }

    public string? OptionalString(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Wrong(name, value, "a string");
    }

    public string RequiredString(string name) => OptionalString(name) ?? throw Missing(name);

    /// <summary>A token id or a list of token ids; null when the field is absent or null.</summary>
    public IReadOnlyList<int>? OptionalIdList(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number)
        {
            return new[] { OptionalInt(name)!.Value };
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Wrong(name, value, "an integer or a list of integers");
        }

        var ids = new List<int>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var id))
            {
                throw Wrong(name, value, "an integer or a list of integers");
            }

            if (!ids.Contains(id))
            {
                ids.Add(id);
            }
        }

        return ids;
    }

    /// <summary>A nested object, or null when absent or null.</summary>
    public JsonFields? OptionalObject(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Object ? new JsonFields(Path, value, name) : throw Wrong(name, value, "an object");
    }

    public CheckpointException Missing(string name) =>
        new(Path, $"missing required field '{Qualified(name)}'");

    public CheckpointException Invalid(string name, string problem) =>
        new(Path, $"field '{Qualified(name)}' {problem}");

    private CheckpointException Wrong(string name, JsonElement value, string expected)
    {
        var raw = value.GetRawText();
        if (raw.Length > 60)
        {
            raw = raw[..60] + "…";
        }

        return new CheckpointException(Path, $"field '{Qualified(name)}' must be {expected}, got {raw}");
    }

    private string Qualified(string name) => Context is null ? name : $"{Context}.{name}";

    private static string Describe(JsonValueKind kind) => kind.ToString().ToLower(CultureInfo.InvariantCulture);
}
