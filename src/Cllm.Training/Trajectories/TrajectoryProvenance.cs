using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Cllm.Training;

/// <summary>
/// Which models the records of a data set were collected with, as <see cref="JsonlTrajectorySource"/> reads them: each
/// distinct <see cref="ModelFingerprint"/> with the first line that carries it, and how many records carry none
/// (collected before fingerprints existed, or by another tool).
/// </summary>
internal sealed class TrajectoryProvenance
{
    private readonly List<(ModelFingerprint Model, int Line)> _models = new();

    /// <summary>Records seen.</summary>
    public int Records { get; private set; }

    /// <summary>Records without a model fingerprint.</summary>
    public int Unstamped { get; private set; }

    /// <summary>The distinct fingerprints met, each with the first line (JSONL) or element (array) that carries it.</summary>
    public IReadOnlyList<(ModelFingerprint Model, int Line)> Models => _models;

    /// <summary>Counts one record read at <paramref name="line"/> with its fingerprint, if any.</summary>
    public void Add(ModelFingerprint? model, int line)
    {
        Records++;
        if (model is null)
        {
            Unstamped++;
        }
        else if (!_models.Any(m => m.Model.Digest == model.Digest))
        {
            _models.Add((model, line));
        }
    }

    /// <summary>
    /// "path:line: collected with A, not with --model B …" for the first record collected with another model than
    /// <paramref name="model"/>, or null when every fingerprinted record matches it.
    /// </summary>
    public string? Mismatch(ModelFingerprint model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (other, line) in _models)
        {
            if (other.Digest != model.Digest)
            {
                return string.Create(CultureInfo.InvariantCulture,
                    $"{path}:{line}: these trajectories were collected with {other}, not with --model {model} (another tokenizer or shape: their token ids mean other text); collect trajectories with --model {model.Name}, or train the model they came from.");
            }
        }

        return null;
    }
}
