using System;
using System.Linq;
using Cllm.Benchmarking;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Benchmarking;

public class DecoderBenchmarkTests
{
    private static DecodeRequest[] Requests(int count) => Enumerable.Range(0, count).Select(i => new DecodeRequest
    {
        PromptIds = new[] { 1, 5 + i, 17, 40 + i },
        Options = new GenerationOptions { MaxNewTokens = 12 },
    }).ToArray();

    [Fact]
    public void TwoModelsGiveARowPerModelAndDecoderWithRatiosAgainstTheirOwnAndTheBaselineAr()
    {
        using var baseModel = TinyLlama.Create(11);
        using var trained = TinyLlama.Create(12);
        var decoders = new[] { DecoderOptions.Parse("ar"), DecoderOptions.Parse("jacobi:4"), DecoderOptions.Parse("lookahead:3x3x3") };
        var (rows, outcomes) = DecoderBenchmark.Run(new[] { new BenchmarkModel("base", baseModel), new BenchmarkModel("cllm", trained) }, Requests(3), decoders);

        Assert.Equal(new[] { "base/ar", "base/jacobi:4", "base/lookahead:3x3x3", "cllm/ar", "cllm/jacobi:4", "cllm/lookahead:3x3x3" }, rows.Select(r => $"{r.Model}/{r.Decoder}"));
        Assert.Equal(2 * 3 * 3, outcomes.Count);
        Assert.All(rows, r => Assert.Equal(3, r.Requests));
        Assert.All(rows, r => Assert.Equal(rows.First(o => o.Model == r.Model).Tokens, r.Tokens));
        Assert.All(rows, r => Assert.Equal(1.0, r.ExactMatchRate));                              // greedy Jacobi/lookahead = the same model's AR
        Assert.Equal(1.0, rows.Single(r => r.Model == "base" && r.Decoder == "ar").SpeedupVsBaselineAr, 12);
        Assert.Equal(1.0, rows.Single(r => r.Model == "cllm" && r.Decoder == "ar").SpeedupVsAr, 12);

        var baseAr = rows.Single(r => r.Model == "base" && r.Decoder == "ar");
        var cllmAr = rows.Single(r => r.Model == "cllm" && r.Decoder == "ar");
        foreach (var row in rows.Where(r => r.Model == "cllm"))
        {
            Assert.Equal(row.TokensPerSecond / baseAr.TokensPerSecond, row.SpeedupVsBaselineAr, 9);
            Assert.Equal(row.TokensPerSecond / cllmAr.TokensPerSecond, row.SpeedupVsAr, 9);
        }

        // Quality column: the baseline scores every row; rows with identical outputs score identically.
        Assert.All(rows, r => Assert.True(r.BaselineNll > 0 && double.IsFinite(r.BaselineNll)));
        Assert.All(rows.Where(r => r.Model == "base"), r => Assert.Equal(baseAr.BaselineNll, r.BaselineNll, 9));
        Assert.All(rows.Where(r => r.Model == "cllm"), r => Assert.Equal(cllmAr.BaselineNll, r.BaselineNll, 9));

        // The two models really were run: their AR outputs differ on some request.
        var baseOut = outcomes.Where(o => o.Model == "base" && o.Decoder == "ar").OrderBy(o => o.Request).Select(o => o.Result.OutputIds.ToArray());
        var cllmOut = outcomes.Where(o => o.Model == "cllm" && o.Decoder == "ar").OrderBy(o => o.Request).Select(o => o.Result.OutputIds.ToArray());
        Assert.Contains(baseOut.Zip(cllmOut), pair => !pair.First.SequenceEqual(pair.Second));
    }

    [Fact]
    public void OneModelKeepsTheDefaultLabelAndTheSpeedupsCoincide()
    {
        using var model = TinyLlama.Create(13);
        var (rows, _) = DecoderBenchmark.Run(model, Requests(2), new[] { DecoderOptions.Parse("ar"), DecoderOptions.Parse("jacobi:8") });
        Assert.All(rows, r => Assert.Equal("model", r.Model));
        Assert.All(rows, r => Assert.Equal(r.SpeedupVsAr, r.SpeedupVsBaselineAr, 12));
        Assert.All(rows, r => Assert.True(double.IsNaN(r.BaselineNll)));
    }

    [Fact]
    public void DecodeOnlySpeedLeavesOutThePrefillsTokensAndTime()
    {
        using var model = TinyLlama.Create(16);
        var (rows, outcomes) = DecoderBenchmark.Run(model, Requests(3), new[] { DecoderOptions.Parse("ar"), DecoderOptions.Parse("jacobi:4") });
        Assert.All(outcomes, o => Assert.InRange(o.Result.Stats.PrefillElapsed, TimeSpan.FromTicks(1), o.Result.Stats.Elapsed));
        Assert.All(outcomes.Where(o => o.Decoder == "ar"), o => Assert.Equal(1, o.Result.Stats.PrefillTokens));     // AR's prefill emits one token
        foreach (var row in rows)
        {
            var stats = outcomes.Where(o => o.Decoder == row.Decoder).Select(o => o.Result.Stats).ToList();
            double expected = (stats.Sum(s => s.GeneratedTokens) - stats.Sum(s => s.PrefillTokens))
                / stats.Sum(s => (s.Elapsed - s.PrefillElapsed).TotalSeconds);
            Assert.Equal(expected, row.DecodeTokensPerSecond, 9);
            Assert.Equal(row.Tokens / row.Seconds, row.TokensPerSecond, 9);
        }
    }

    [Fact]
    public void WithoutAnArRowTheRatiosAreNaN()
    {
        using var model = TinyLlama.Create(14);
        var (rows, _) = DecoderBenchmark.Run(model, Requests(1), new[] { DecoderOptions.Parse("jacobi:4") });
        Assert.True(double.IsNaN(rows[0].SpeedupVsAr));
        Assert.True(double.IsNaN(rows[0].ExactMatchRate));
        Assert.Equal(12, rows[0].Tokens);
    }

    [Fact]
    public void DuplicateLabelsAndEmptyInputsAreRefused()
    {
        using var model = TinyLlama.Create(15);
        var ar = new[] { DecoderOptions.Parse("ar") };
        Assert.Throws<ArgumentException>(() => DecoderBenchmark.Run(new[] { new BenchmarkModel("a", model), new BenchmarkModel("a", model) }, Requests(1), ar));
        Assert.Throws<ArgumentException>(() => DecoderBenchmark.Run(model, Array.Empty<DecodeRequest>(), ar));
        Assert.Throws<ArgumentException>(() => DecoderBenchmark.Run(model, Requests(1), Array.Empty<DecoderOptions>()));
        Assert.Throws<ArgumentException>(() => new BenchmarkModel(" ", model));
    }

    [Fact]
    public void ContinuationScorerEqualsTheSumOfStepByStepLogProbabilities()
    {
        using var model = TinyLlama.Create(16);
        int[] prompt = { 1, 7, 30, 2, 55 };
        int[] output = { 9, 9, 41, 3, 80, 12 };
        var (sum, tokens) = ContinuationScorer.NegativeLogLikelihood(model, prompt, output);
        Assert.Equal(output.Length, tokens);

        double expected = 0;
        using (TorchSharp.torch.no_grad())
        {
            for (int i = 0; i < output.Length; i++)
            {
                var prefix = prompt.Concat(output.Take(i)).Select(t => (long)t).ToArray();
                using var ids = TorchSharp.torch.tensor(prefix).unsqueeze(0);
                using var logits = model.Forward(ids, lastPositions: 1);                   // (1, 1, V)
                using var logProbs = logits[0, 0].log_softmax(-1);
                expected -= logProbs[output[i]].item<float>();
            }
        }

        Assert.Equal(expected, sum, 3);
        Assert.Equal((0.0, 0), ContinuationScorer.NegativeLogLikelihood(model, prompt, Array.Empty<int>()));
        Assert.Throws<ArgumentException>(() => ContinuationScorer.NegativeLogLikelihood(model, Array.Empty<int>(), output));
        Assert.Throws<ArgumentException>(() => ContinuationScorer.NegativeLogLikelihood(model, prompt, new int[300]));
    }

    [SkippableTheory]
    [InlineData(Cllm.Core.WeightQuantization.Int4A8)]
    [InlineData(Cllm.Core.WeightQuantization.BFloat16)]
    public void AModelWithKernelWorkersOfItsOwnGetsOneLibtorchThread(Cllm.Core.WeightQuantization quantization)
    {
        // libtorch's spinning OpenMP workers took a third of the packed bf16 model's speed when the peer benchmark gave
        // it two threads beside the kernel's two workers.
        Skip.If(quantization == Cllm.Core.WeightQuantization.BFloat16 && !Cllm.Core.BFloat16Kernel.IsSupported, $"the packed bfloat16 kernel does not run here: {Cllm.Core.BFloat16Kernel.Missing}");
        int before = TorchSharp.torch.get_num_threads();
        try
        {
            using var quantized = Cllm.Core.PretrainedModel.Load(ShippedModels.Stories260K, new Cllm.Core.PretrainedModelOptions { LoadTokenizer = false, Threads = 2, DType = TorchSharp.torch.ScalarType.BFloat16, Quantization = quantization });
            Assert.Equal(1, new BenchmarkModel("q", quantized.Model, TorchThreads: 2).TorchThreads);
            using var plain = Cllm.Core.PretrainedModel.Load(ShippedModels.Stories260K, new Cllm.Core.PretrainedModelOptions { LoadTokenizer = false });
            Assert.Equal(2, new BenchmarkModel("f", plain.Model, TorchThreads: 2).TorchThreads);
            Assert.Null(new BenchmarkModel("f", plain.Model).TorchThreads);
        }
        finally
        {
            TorchSharp.torch.set_num_threads(before);
        }
    }
}
