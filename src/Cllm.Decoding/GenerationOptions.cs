using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// How to generate one completion: every property is optional, and null means the library default (declared here, once).
/// <see cref="CllmEngine.Generate"/>, <see cref="CllmEngine.GenerateStreaming"/> and <see cref="CllmEngine.CreateRequest(string, GenerationOptions?)"/>
/// take it, and the chat client maps <c>ChatOptions</c> onto it (without changing the caller's options).
/// </summary>
public sealed record GenerationOptions
{
    /// <summary>The output budget when <see cref="MaxNewTokens"/> is null (also the chat client's and <see cref="DecodeRequest"/>'s).</summary>
    public const int DefaultMaxNewTokens = 128;

    /// <summary>Upper bound on generated tokens (the stop token not counted); null = <see cref="DefaultMaxNewTokens"/>.</summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>Softmax temperature; null or 0 = greedy (argmax, which Jacobi and lookahead keep exact).</summary>
    public double? Temperature { get; init; }

    /// <summary>When sampling, keep only the k most likely tokens; null or 0 = no limit.</summary>
    public int? TopK { get; init; }

    /// <summary>When sampling, keep the smallest set of tokens whose probability reaches p; null or 1 = no limit.</summary>
    public double? TopP { get; init; }

    /// <summary>Seed of the sampling generator; null = a random seed.</summary>
    public int? Seed { get; init; }

    /// <summary>Extra token ids that end generation, besides the model's EOS ids; null = none.</summary>
    public IReadOnlyList<int>? StopTokenIds { get; init; }

    /// <summary>Token-id sequences that end generation (not part of the output); null = none.</summary>
    public IReadOnlyList<IReadOnlyList<int>>? StopSequences { get; init; }

    /// <summary>False: the model's own EOS ids do not stop generation; null or true: they do.</summary>
    public bool? StopAtEos { get; init; }

    /// <summary>The decoder for this call; null = the engine's.</summary>
    public DecoderOptions? Decoder { get; init; }

    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> naming the property at fault (<see cref="MaxNewTokens"/>,
    /// <see cref="Temperature"/>, <see cref="TopK"/>, <see cref="TopP"/>) for a value out of range: every value given is
    /// checked, greedy or not. The engine and the decoders make this check (with the prompt's) once when a request is
    /// submitted, and the chat client names its own ChatOptions property there; call it to fail earlier (the <c>cllm</c>
    /// command does, naming its flags, before the model loads).
    /// </summary>
    public void Validate()
    {
        ResolveMaxNewTokens();
        ToSampling();
    }

    /// <summary>The sampling settings these options mean (greedy unless <see cref="Temperature"/> is positive); throws for values out of range.</summary>
    internal SamplingOptions ToSampling(Func<string, string>? name = null)
    {
        if (Temperature is null && TopK is null && TopP is null && Seed is null)
        {
            return SamplingOptions.Greedy;
        }

        var sampling = new SamplingOptions { Temperature = Temperature ?? 0, TopK = TopK ?? 0, TopP = TopP ?? 1.0, Seed = Seed };
        sampling.Validate(name);                                                                  // every value given is checked, greedy or not
        return sampling;
    }

    /// <summary><see cref="MaxNewTokens"/> or the default; throws for a non-positive budget.</summary>
    internal int ResolveMaxNewTokens(Func<string, string>? name = null)
    {
        int max = MaxNewTokens ?? DefaultMaxNewTokens;
        string property = name?.Invoke(nameof(MaxNewTokens)) ?? nameof(MaxNewTokens);
        if (max < 1)
        {
            throw new ArgumentOutOfRangeException(property, max, $"{property} must be at least 1.");
        }

        return max;
    }
}
