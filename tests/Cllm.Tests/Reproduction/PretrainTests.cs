using System;
using System.Linq;
using Cllm.Reproduction.Sql;
using Cllm.Reproduction.Training;
using TorchSharp;

namespace Cllm.Tests.Reproduction;

/// <summary>The base-model stage: sequence encoding, loss targets, schedule, and that training learns.</summary>
[Collection(SqlCollection.Name)]
public sealed class PretrainTests
{
    private readonly SqlFixture _sql;

    public PretrainTests(SqlFixture sql) => _sql = sql;

    [Fact]
    public void Sequences_frame_prompt_and_answer_with_bos_and_eos()
    {
        var encoder = new SqlSequenceEncoder(_sql.Tokenizer);
        SqlTask task = _sql.Set.Test[0];
        SqlSequence s = encoder.Encode(task);
        Assert.Equal(encoder.Bos, s.Ids[0]);
        Assert.Equal(encoder.Eos, s.Ids[^1]);
        Assert.Equal(encoder.EncodePrompt(task.Prompt), s.PromptIds.ToArray());
        Assert.Equal(task.Sql, encoder.Decode(s.AnswerIds.ToArray()));
        Assert.Equal(_sql.Tokenizer.Encode(task.Prompt), encoder.EncodePrompt(task.Prompt));   // what CllmEngine sends
    }

    [Fact]
    public void Targets_cover_the_answer_and_the_eos_tail_only()
    {
        var a = new SqlSequence([1, 10, 11, 20, 21, 2], AnswerStart: 3);
        var b = new SqlSequence([1, 10, 20, 2], AnswerStart: 2);
        var (input, targets) = ArPretrainer.BuildBatch([a, b], answerOnly: true, eosTail: 2, torch.CPU);
        Assert.Equal(new long[] { 2, 8 }, input.shape);
        long[] t = targets.data<long>().ToArray();
        long[] x = input.data<long>().ToArray();
        Assert.Equal(new long[] { 1, 10, 11, 20, 21, 2, 2, 2 }, x[..8]);
        Assert.Equal(new long[] { -100, -100, 20, 21, 2, 2, 2, -100 }, t[..8]);                // predicts 20, 21, EOS, then EOS after EOS
        Assert.Equal(new long[] { 1, 10, 20, 2, 2, 2, 2, 2 }, x[8..]);
        Assert.Equal(new long[] { -100, 20, 2, 2, 2, 2, 2, -100 }, t[8..]);

        var (_, full) = ArPretrainer.BuildBatch([a], answerOnly: false, eosTail: 0, torch.CPU);
        Assert.Equal(new long[] { 10, 11, 20, 21, 2, -100 }, full.data<long>().ToArray());
    }

    [Fact]
    public void A_tiny_model_learns_the_answers()
    {
        var encoder = new SqlSequenceEncoder(_sql.Tokenizer);
        var train = encoder.EncodeAll(_sql.Set.Train.Take(256));
        var config = ModelShape.Tiny.ToConfig(_sql.Tokenizer.VocabSize, encoder.Bos, encoder.Eos);
        using var model = ModelShape.CreateModel(config, seed: 3);
        var history = new ArPretrainer(model, new PretrainOptions { Steps = 40, BatchSize = 16, WarmupSteps = 4, LearningRate = 3e-3 }).Train(train);
        Assert.Equal(40, history.Count);
        double first = history.Take(3).Average(h => h.Loss), last = history.TakeLast(3).Average(h => h.Loss);
        Assert.True(last < 0.6 * first, $"loss {first:F3} → {last:F3}");
        Assert.False(model.training);
    }

    /// <summary>
    /// Temporary, until ArPretrainer is deleted: the library's CausalLmTrainer with the sample's pretraining settings
    /// gives ArPretrainer's losses and weights step for step. Every step is the whole set (batch = sequences), so the
    /// data order (seeded shuffle vs DataOrder) only changes the row order within a batch: float tolerance.
    /// </summary>
    [Fact]
    public void Library_causal_lm_trainer_matches_the_samples_pretraining_loop()
    {
        var encoder = new SqlSequenceEncoder(_sql.Tokenizer);
        var train = encoder.EncodeAll(_sql.Set.Train.Take(16));
        var config = ModelShape.Tiny.ToConfig(_sql.Tokenizer.VocabSize, encoder.Bos, encoder.Eos);
        var options = new PretrainOptions { Steps = 5, BatchSize = 16, WarmupSteps = 2, LearningRate = 3e-3 };
        using var sample = ModelShape.CreateModel(config, seed: 3);
        using var library = new Cllm.Modeling.LlamaForCausalLM(config);
        using (torch.no_grad())
        {
            var source = sample.state_dict();
            foreach (var (name, tensor) in library.state_dict())
            {
                tensor.copy_(source[name]);
            }
        }

        var history = new ArPretrainer(sample, options).Train(train);
        var result = new Cllm.Training.CausalLmTrainer(library, options.ToTrainingOptions()).Train(train.Select(q => new Cllm.Training.CausalLmSequence(q.Ids, q.AnswerStart)).ToList());
        Assert.Equal(5, result.Losses.Count);
        for (int step = 0; step < 5; step++)
        {
            Assert.True(Math.Abs(history[step].Loss - result.Losses[step].Autoregressive) < 1e-4 * (1 + history[step].Loss), $"step {step + 1}: {history[step].Loss} vs {result.Losses[step].Autoregressive}");
        }

        var a = sample.state_dict();
        var b = library.state_dict();
        double max = a.Keys.Max(k => (a[k] - b[k]).abs().max().item<float>());
        Assert.True(max < 1e-4, $"weights differ by {max}");
    }

    [Fact]
    public void Model_shapes_parse_and_print()
    {
        Assert.Equal(new ModelShape(256, 4, 8, 704), ModelShape.Parse("256x4x8x704"));
        Assert.Equal("64x2x4x172", ModelShape.Tiny.ToString());
        Assert.Throws<FormatException>(() => ModelShape.Parse("256x4"));
    }
}
