namespace Cllm.Core;

/// <summary>
/// Rotary-embedding frequency scaling, as Hugging Face's <c>rope_scaling</c> object describes it.
/// Supported types: <c>linear</c> (positions divided by <see cref="Factor"/>) and <c>llama3</c>
/// (wavelength-dependent scaling of the inverse frequencies, LLaMA 3.1 style).
/// </summary>
internal sealed record RopeScaling
{
    /// <summary><c>linear</c> or <c>llama3</c>.</summary>
    public required string Type { get; init; }

    /// <summary>The scaling factor (both types).</summary>
    public required double Factor { get; init; }

    /// <summary>llama3 only: wavelengths above <c>original_max_position_embeddings / low_freq_factor</c> are scaled fully.</summary>
    public double LowFreqFactor { get; init; } = 1.0;

    /// <summary>llama3 only: wavelengths below <c>original_max_position_embeddings / high_freq_factor</c> are kept.</summary>
    public double HighFreqFactor { get; init; } = 4.0;

    /// <summary>llama3 only: the context length the model was pretrained with.</summary>
    public int OriginalMaxPositionEmbeddings { get; init; } = 8192;
}
