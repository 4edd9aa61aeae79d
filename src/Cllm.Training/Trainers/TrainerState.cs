using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cllm.Training;

/// <summary>
/// <c>trainer_state.json</c> of a checkpoint: the step reached and everything that fixes the data order, so a resume
/// can refuse a run whose examples would differ.
/// </summary>
internal sealed record TrainerState
{
    public const string FileName = "trainer_state.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public int Step { get; init; }

    public int TotalSteps { get; init; }

    public int Seed { get; init; }

    public int BatchSize { get; init; }

    public int GradientAccumulation { get; init; }

    public int StatesPerRecord { get; init; } = 1;

    public int Records { get; init; }

    public string DataFingerprint { get; init; } = string.Empty;

    public string Consistency { get; init; } = string.Empty;

    public double LearningRate { get; init; }

    public double LastLoss { get; init; }

    /// <summary>The training-semantic settings of the run (null in checkpoints written before they were recorded).</summary>
    public TrainingSettings? Settings { get; init; }

    /// <summary>
    /// The state of a new run of <paramref name="options"/> over <paramref name="records"/> examples (the data order's
    /// size) named by <paramref name="objective"/>; <paramref name="statesPerRecord"/> as the objective draws them.
    /// </summary>
    public static TrainerState Start(TrainingOptions options, int totalSteps, int records, string dataFingerprint, string objective, int statesPerRecord = 1) => new()
    {
        TotalSteps = totalSteps,
        Seed = options.Seed,
        BatchSize = options.BatchSize,
        GradientAccumulation = options.GradientAccumulation,
        StatesPerRecord = statesPerRecord,
        Records = records,
        DataFingerprint = dataFingerprint,
        Consistency = objective,
        LearningRate = options.LearningRate,
        Settings = TrainingSettings.From(options),
    };

    public void Write(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    public static TrainerState Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"{path}: empty trainer state.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not a valid trainer state: {ex.Message}", ex);
        }
    }

    /// <summary>The first difference that would change the data a resumed run sees, or null when it may resume.</summary>
    public string? Incompatibility(TrainerState current)
    {
        if (TotalSteps != current.TotalSteps)
        {
            return $"the checkpoint's run has {TotalSteps} steps, this one {current.TotalSteps} (--epochs/--max-steps)";
        }

        if (Seed != current.Seed)
        {
            return $"--seed is {current.Seed}, the checkpoint's run used {Seed}";
        }

        if (BatchSize != current.BatchSize || GradientAccumulation != current.GradientAccumulation)
        {
            return $"--batch-size × --grad-accum is {current.BatchSize} × {current.GradientAccumulation}, the checkpoint's run used {BatchSize} × {GradientAccumulation}";
        }

        if (StatesPerRecord != current.StatesPerRecord)
        {
            return $"--states-per-record is {current.StatesPerRecord}, the checkpoint's run used {StatesPerRecord}";
        }

        if (Records != current.Records || !string.Equals(DataFingerprint, current.DataFingerprint, StringComparison.Ordinal))
        {
            return $"the trajectory records differ ({Records} records, fingerprint {DataFingerprint}; now {current.Records}, {current.DataFingerprint})";
        }

        if (Settings is { } saved && current.Settings is { } now && saved.Difference(now) is { } difference)
        {
            return difference;
        }

        if (Settings is null && LearningRate != 0 && LearningRate != current.LearningRate)
        {
            return System.FormattableString.Invariant($"--lr is {current.LearningRate}, the checkpoint's run used {LearningRate}");
        }

        return null;
    }

    /// <summary>A 64-bit FNV-1a hash of every record's ids, in order.</summary>
    public static string Fingerprint(IEnumerable<IReadOnlyList<int>> sequences)
    {
        ulong h = 14695981039346656037UL;
        foreach (var ids in sequences)
        {
            h = unchecked((h ^ (uint)ids.Count) * 1099511628211UL);
            for (int i = 0; i < ids.Count; i++)
            {
                h = unchecked((h ^ (uint)ids[i]) * 1099511628211UL);
            }
        }

        return h.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
    }

    public static string Fingerprint(IReadOnlyList<TrajectoryRecord> records)
    {
        ulong h = 14695981039346656037UL;
        void Add(int value)
        {
            h = unchecked((h ^ (uint)value) * 1099511628211UL);
        }

        void AddAll(IReadOnlyList<int> ids)
        {
            Add(ids.Count);
            for (int i = 0; i < ids.Count; i++)
            {
                Add(ids[i]);
            }
        }

        foreach (var r in records)
        {
            AddAll(r.PromptIds);
            Add(r.Trajectory.Count);
            foreach (var s in r.Trajectory)
            {
                AddAll(s);
            }

            AddAll(r.TeacherOutputIds);
            AddAll(r.LabelIds ?? Array.Empty<int>());
        }

        return h.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
    }
}
