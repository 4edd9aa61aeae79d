using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Core;
using Cllm.Tests.TestKit;
using TorchSharp;

namespace Cllm.Tests.Decoding;

/// <summary>
/// Sampling with Jacobi, lookahead or multiblock drafts must leave the output distribution exactly that of AR sampling. On an
/// 8-token vocabulary the exact distribution of each of the first three tokens is computed from the model (summing
/// over the earlier tokens) and 2,000 seeded samples per decoder are checked against it with a chi-square test.
/// </summary>
public class SamplingDistributionTests
{
    private const int Vocab = 8;
    private const int Samples = 2000;
    private const double Temperature = 1.0;
    private static readonly int[] Prompt = { 1, 4, 4, 6, 4, 6, 4, 6, 4, 6 };              // repetitive: feeds the lookahead n-gram pool

    /// <summary>
    /// Decoders and budgets: with a budget of 3 drafts are at most 2 deep; with 10 they run deeper than the three tokens
    /// checked, so the third token often comes from a long chain's verification. Seeds are consecutive (0, 1, 2, …), as a
    /// user numbering requests would choose them.
    /// </summary>
    public static TheoryData<string, int> DecoderNames => new()
    {
        { "ar", 3 }, { "jacobi:2", 3 }, { "jacobi:4", 3 }, { "lookahead:3x3x3", 3 }, { "multiblock:2x2x0.5x2", 3 }, { "multiblock:3x3x0.34x4", 3 },
        { "ar", 10 }, { "jacobi:4", 10 }, { "jacobi:8", 10 }, { "multiblock:2x3x0.5x4", 10 },
    };

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void EachOfTheFirstThreeTokensFollowsTheModelsDistribution(string decoderName, int budget)
    {
        using var model = TinyLlama.Create(21, TinyLlama.Config(vocab: Vocab));
        var exact = ExactMarginals(model, Temperature);
        var decoder = DecoderOptions.Parse(decoderName).CreateDecoder(model);
        var counts = new double[3, Vocab];
        long forwards = 0;
        for (int seed = 0; seed < Samples; seed++)
        {
            var result = decoder.DecodeToEnd(new DecodeRequest
            {
                PromptIds = Prompt,
                Options = new GenerationOptions { MaxNewTokens = budget, Temperature = Temperature, Seed = seed },
            });
            var output = result.OutputIds;
            forwards += result.Stats.ForwardPasses;
            Assert.Equal(budget, output.Count);
            for (int position = 0; position < 3; position++)
            {
                counts[position, output[position]]++;
            }
        }

        // AR needs 3 forwards (prefill + 2) per request; some drafts must have been accepted (on this random model only
        // a few percent are: TreeVerifierSamplingTests checks the acceptance rule itself at high acceptance rates).
        if (decoderName != "ar")
        {
            Assert.True(forwards < budget * Samples, $"{decoderName}: {forwards} forwards for {Samples} requests: no draft was ever accepted");
        }

        for (int position = 0; position < 3; position++)
        {
            var observed = Enumerable.Range(0, Vocab).Select(t => counts[position, t]).ToArray();
            var (statistic, df) = ChiSquare.Test(observed, exact[position]);
            Assert.True(statistic < ChiSquare.Critical(df), $"{decoderName}, token {position + 1}: chi-square {statistic:F1} on {df} df (limit {ChiSquare.Critical(df)}); observed [{string.Join(", ", observed)}], expected [{string.Join(", ", exact[position].Select(p => (p * Samples).ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))}]");
        }
    }

    [Fact]
    public void TheTestDetectsASamplerThatIsSlightlyOff()
    {
        // AR samples at temperature 1.0 checked against the distribution at 0.6: the test must notice.
        using var model = TinyLlama.Create(21, TinyLlama.Config(vocab: Vocab));
        var wrong = ExactMarginals(model, 0.6);
        var decoder = DecoderOptions.Autoregressive.CreateDecoder(model);
        var observed = new double[Vocab];
        for (int seed = 0; seed < Samples; seed++)
        {
            var output = decoder.DecodeToEnd(new DecodeRequest { PromptIds = Prompt, Options = new GenerationOptions { MaxNewTokens = 1, Temperature = Temperature, Seed = seed } }).OutputIds;
            observed[output[0]]++;
        }

        var (statistic, df) = ChiSquare.Test(observed, wrong[0]);
        Assert.True(statistic > ChiSquare.Critical(df), $"chi-square {statistic:F1} on {df} df");
    }

    /// <summary>P(token i = t) for i = 1, 2, 3 after <see cref="Prompt"/>, summed over the earlier tokens.</summary>
    private static double[][] ExactMarginals(LlamaForCausalLM model, double temperature)
    {
        var first = Next(model, Prompt, temperature);
        var second = new double[Vocab];
        var third = new double[Vocab];
        for (int a = 0; a < Vocab; a++)
        {
            var afterA = Next(model, Prompt.Append(a).ToArray(), temperature);
            for (int b = 0; b < Vocab; b++)
            {
                double pab = first[a] * afterA[b];
                second[b] += pab;
                var afterAb = Next(model, Prompt.Append(a).Append(b).ToArray(), temperature);
                for (int c = 0; c < Vocab; c++)
                {
                    third[c] += pab * afterAb[c];
                }
            }
        }

        return new[] { first, second, third };
    }

    private static double[] Next(LlamaForCausalLM model, int[] ids, double temperature)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var logits = model.Forward(torch.tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0), lastPositions: 1)[0, 0];   // (V)
        using var t = temperature.ToScalar();
        return (logits.to_type(torch.ScalarType.Float64) / t).softmax(0).data<double>().ToArray();
    }
}
