using System;
using System.Globalization;

namespace Cllm.Cli;

/// <summary>Checks sampling settings and names the generate flag at fault (--temperature, --top-k, --top-p).</summary>
internal static class SamplingFlags
{
    public static void Validate(GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(new SamplingOptions { Temperature = options.Temperature ?? 0, TopK = options.TopK ?? 0, TopP = options.TopP ?? 1.0, Seed = options.Seed });
    }

    public static void Validate(SamplingOptions sampling)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        if (!double.IsFinite(sampling.Temperature) || sampling.Temperature < 0)
        {
            throw new ArgumentException($"--temperature must be 0 (greedy) or a finite positive number (got {F(sampling.Temperature)}).");
        }

        if (sampling.TopK < 0)
        {
            throw new ArgumentException($"--top-k must be 0 (off) or positive (got {F(sampling.TopK)}).");
        }

        if (!(sampling.TopP > 0 && sampling.TopP <= 1))
        {
            throw new ArgumentException($"--top-p must be in (0, 1] (got {F(sampling.TopP)}).");
        }

        sampling.Validate();
    }

    private static string F(double value) => value.ToString(CultureInfo.InvariantCulture);
}
