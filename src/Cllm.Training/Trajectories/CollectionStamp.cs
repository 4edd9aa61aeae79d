using System;
using System.Globalization;
using System.Text.Json;

namespace Cllm.Training;

/// <summary>
/// The collection settings that change a prompt's records besides the block size (which every record shows):
/// written into each record by <c>cllm collect</c> as <c>collect_settings</c>, so that resuming with other settings is
/// refused instead of mixing records of two collections in one file. Other readers ignore the field. It also holds the
/// collecting model's <see cref="ModelFingerprint"/> when known (<c>"model": {"name", "fingerprint"}</c>), which
/// <c>cllm train</c> checks against its model; stamps written before the fingerprint existed have none.
/// </summary>
internal sealed record CollectionStamp(int MaxNewTokens, int Seed, bool Augment, bool Clean)
{
    public const string FieldName = "collect_settings";

    /// <summary>The collecting model, or null when not known (older stamps, or a collector given no fingerprint).</summary>
    public ModelFingerprint? Model { get; init; }

    public static CollectionStamp From(TrajectoryCollectionOptions options) => new(options.MaxNewTokens, options.Seed, options.Augment, options.Clean);

    public void Write(Utf8JsonWriter json)
    {
        json.WriteStartObject(FieldName);
        json.WriteNumber("max_new_tokens", MaxNewTokens);
        json.WriteNumber("seed", Seed);
        json.WriteBoolean("augment", Augment);
        json.WriteBoolean("clean", Clean);
        if (Model is { } model)
        {
            json.WriteStartObject("model");
            json.WriteString("name", model.Name);
            json.WriteString("fingerprint", model.Digest);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    /// <summary>The stamp of a record, or null when it has none (records from other tools or older versions).</summary>
    public static CollectionStamp? Read(JsonElement record)
    {
        if (!record.TryGetProperty(FieldName, out var stamp) || stamp.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        try
        {
            return new CollectionStamp(
                stamp.GetProperty("max_new_tokens").GetInt32(),
                stamp.GetProperty("seed").GetInt32(),
                stamp.GetProperty("augment").GetBoolean(),
                stamp.GetProperty("clean").GetBoolean())
            {
                Model = stamp.TryGetProperty("model", out var model) && model.ValueKind != JsonValueKind.Null
                    ? new ModelFingerprint(model.GetProperty("name").GetString()!, model.GetProperty("fingerprint").GetString()!)
                    : null,
            };
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or System.Collections.Generic.KeyNotFoundException)
        {
            throw new FormatException($"{FieldName} must be {{\"max_new_tokens\": n, \"seed\": s, \"augment\": bool, \"clean\": bool, \"model\": {{\"name\": text, \"fingerprint\": text}} (optional)}}, found {stamp.GetRawText()}.", ex);
        }
    }

    /// <summary>"&lt;flag&gt;: the output was collected with X, this run uses Y" for the first difference, or null.</summary>
    public string? Difference(CollectionStamp now)
    {
        static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
        static string B(bool value) => value ? "on" : "off";
        if (Model is { } saved && now.Model is { } model && saved.Digest != model.Digest)
        {
            return $"--model {model} is not the model {saved} this output was collected with (another tokenizer or shape); resume with that model or write to a new output.";
        }

        if (MaxNewTokens != now.MaxNewTokens)
        {
            return Line("--max-new-tokens", I(MaxNewTokens), I(now.MaxNewTokens));
        }

        if (Seed != now.Seed)
        {
            return Line("--seed", I(Seed), I(now.Seed));
        }

        if (Augment != now.Augment)
        {
            return Line("--augment", B(Augment), B(now.Augment));
        }

        return Clean != now.Clean ? Line("--clean", B(Clean), B(now.Clean)) : null;
    }

    private static string Line(string flag, string saved, string now) =>
        $"{flag} {now} differs from the {saved} this output was collected with; resume with the same settings or write to a new output.";
}
