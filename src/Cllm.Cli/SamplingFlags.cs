using System;
using System.Globalization;

namespace Cllm.Cli;

/// <summary>Checks sampling settings and names the generate flag at fault (--temperature, --top-k, --top-p).</summary>
internal static class SamplingFlags
{
    public static void Validate(GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        double temperature = options.Temperature ?? 0, topP = options.TopP ?? 1.0;
        int topK = options.TopK ?? 0;
        if (!double.IsFinite(temperature) || temperature < 0)
        {
            throw new ArgumentException($"--temperature must be 0 (greedy) or a finite positive number (got {F(temperature)}).");
        }

        if (topK < 0)
        {
            throw new ArgumentException($"--top-k must be 0 (off) or positive (got {F(topK)}).");
        }

        if (!(topP > 0 && topP <= 1))
        {
            throw new ArgumentException($"--top-p must be in (0, 1] (got {F(topP)}).");
        }
    }

    private static string F(double value) => value.ToString(CultureInfo.InvariantCulture);
}
