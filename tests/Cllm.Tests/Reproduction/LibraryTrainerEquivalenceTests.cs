using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Modeling;
using Cllm.Reproduction.Training;
using Cllm.Training;
using Cllm.Training.Trajectories;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Reproduction;

/// <summary>
/// The library's <see cref="ConsistencyTrainer"/> configured as the sample's <see cref="AnswerCllmTrainer"/> was for
/// sql-cllm (global consistency, forward KL, ω = 10 × AR on the answer only, no label smoothing, optionally gold labels,
/// AdamW without weight decay, 3% warm-up, cosine to 0, clip 1) computes the same losses and weights step for step.
/// The two differ in data order (seeded shuffle vs <c>DataOrder</c>) and in the AR normalisation (token mean over
/// the batch vs mean per sequence, then over the batch), so the test makes both irrelevant: every step is the whole
/// data set (batch = records), each record has one student state, and all answers are equally long. What is left
/// is summation order (packed vs padded forward), hence a float tolerance.
/// </summary>
public sealed class LibraryTrainerEquivalenceTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LibraryTrainerMatchesTheSamplesAnswerOnlyLoop(bool goldLabels)
    {
        var config = ModelShape.Tiny.ToConfig(vocabSize: 64, bos: 1, eos: 2);
        var random = new Random(3);
        var prompts = Enumerable.Range(0, 4).Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, 6).Select(i => i == 0 ? 1 : random.Next(3, 64)).ToArray()).ToList();
        Dictionary<string, Tensor> initial;
        List<TrajectoryRecord> records;
        using (var collecting = ModelShape.CreateModel(config, seed: 5))
        {
            initial = collecting.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
            records = new JacobiTrajectoryCollector(collecting, prompts, new TrajectoryCollectionOptions { BlockSize = 4, MaxNewTokens = 4, Seed = 1 }).Read().ToList();
        }

        // One student state per record (y(0) → y*); gold labels: prompt ⊕ 4 other tokens.
        records = records.Select(r => r with
        {
            Trajectory = [r.Trajectory[0], r.Trajectory[^1]],
            LabelIds = goldLabels ? [.. r.PromptIds, .. Enumerable.Range(0, 4).Select(_ => random.Next(3, 64))] : null,
        }).ToList();
        Assert.Equal(4, records.Count);

        LlamaForCausalLM Fresh()
        {
            var model = new LlamaForCausalLM(config);
            using var noGrad = no_grad();
            foreach (var (name, tensor) in model.state_dict())
            {
                tensor.copy_(initial[name]);
            }

            return model;
        }

        using var sampleModel = Fresh();
        var sample = new AnswerCllmTrainer(sampleModel, new AnswerCllmOptions { BatchSize = 4, Epochs = 5, LearningRate = 3e-3, ArWeight = 10, UseLabelIds = goldLabels, Seed = 1 }).Train(records);

        using var libraryModel = Fresh();
        var options = new TrainingOptions
        {
            LearningRate = 3e-3,
            BatchSize = 4,
            Epochs = 5,
            AutoregressiveWeight = 10,
            LabelSmoothing = 0,
            AnswerOnlyAutoregressive = true,
            UseLabelIds = goldLabels,
            Seed = 1,
        };
        var library = new ConsistencyTrainer(libraryModel, options).Train(records).Losses;

        Assert.Equal(5, sample.Count);
        Assert.Equal(5, library.Count);
        for (int step = 0; step < 5; step++)
        {
            Assert.True(Math.Abs(sample[step].Consistency - library[step].Consistency) <= 1e-4 * (1 + sample[step].Consistency), $"step {step + 1}: consistency {sample[step].Consistency} vs {library[step].Consistency}");
            Assert.True(Math.Abs(sample[step].Autoregressive - library[step].Autoregressive) <= 1e-4 * (1 + sample[step].Autoregressive), $"step {step + 1}: AR {sample[step].Autoregressive} vs {library[step].Autoregressive}");
        }

        var a = sampleModel.state_dict();
        var b = libraryModel.state_dict();
        double maxDifference = a.Keys.Max(k => (a[k] - b[k]).abs().max().item<float>());
        Assert.True(maxDifference < 1e-4, $"weights differ by {maxDifference} after 5 steps");
    }
}
