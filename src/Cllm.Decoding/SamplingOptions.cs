using System;

namespace Cllm;

/// <summary>
/// How a token is chosen from the model's distribution. Temperature 0 (the default) means greedy:
/// the argmax, lowest id on ties. Otherwise logits are divided by the temperature, cut to the top-k
/// and to the top-p nucleus, and sampled with a seeded generator (same seed, same tokens).
/// </summary>
internal sealed record SamplingOptions
{
    /// <summary>Greedy decoding.</summary>
    public static SamplingOptions Greedy { get; } = new();

    /// <summary>Softmax temperature; 0 = greedy.</summary>
    public double Temperature { get; init; }

    /// <summary>Keep only the k most likely tokens; 0 = no limit.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of tokens whose probability reaches p; 1 = no limit.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Seed of the sampling generator; null = a random seed.</summary>
    public int? Seed { get; init; }

    /// <summary>True when tokens are chosen by argmax.</summary>
    public bool IsGreedy => Temperature == 0;

    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> for a value outside its range, naming the property as
    /// <paramref name="name"/> spells it (default: the property's own name, which is also <see cref="GenerationOptions"/>').
    /// </summary>
    public void Validate(Func<string, string>? name = null)
    {
        name ??= static property => property;
        if (!double.IsFinite(Temperature) || Temperature < 0)
        {
            string temperature = name(nameof(Temperature));
            throw new ArgumentOutOfRangeException(temperature, Temperature, $"{temperature} must be 0 (greedy) or a finite positive number.");
        }

        if (TopK < 0)
        {
            string topK = name(nameof(TopK));
            throw new ArgumentOutOfRangeException(topK, TopK, $"{topK} must be 0 (off) or positive.");
        }

        if (double.IsNaN(TopP) || TopP <= 0 || TopP > 1)
        {
            string topP = name(nameof(TopP));
            throw new ArgumentOutOfRangeException(topP, TopP, $"{topP} must be in (0, 1].");
        }
    }
}
