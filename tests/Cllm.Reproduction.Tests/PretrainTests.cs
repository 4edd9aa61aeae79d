using System;
using System.Linq;
using Cllm.Reproduction.Sql;
using Cllm.Reproduction.Training;
using Cllm.Training;

namespace Cllm.Reproduction.Tests;

/// <summary>The base-model stage: sequence encoding, and that the library's causal-LM training learns the answers.</summary>
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
    public void A_tiny_model_learns_the_answers()
    {
        var encoder = new SqlSequenceEncoder(_sql.Tokenizer);
        var train = encoder.EncodeAll(_sql.Set.Train.Take(256));
        var config = ModelShape.Tiny.ToConfig(_sql.Tokenizer.VocabSize, encoder.Bos, encoder.Eos);
        using var model = ModelShape.CreateModel(config, seed: 3);
        model.eval();
        var options = new PretrainOptions { Steps = 40, BatchSize = 16, WarmupSteps = 4, LearningRate = 3e-3 }.ToTrainingOptions();
        var history = new CausalLmTrainer(model, options).Train(train.Select(q => new CausalLmSequence(q.Ids, q.AnswerStart)).ToList()).Losses;
        Assert.Equal(40, history.Count);
        double first = history.Take(3).Average(h => h.Autoregressive), last = history.TakeLast(3).Average(h => h.Autoregressive);
        Assert.True(last < 0.6 * first, $"loss {first:F3} → {last:F3}");
        Assert.False(model.training);
    }

    [Fact]
    public void Model_shapes_parse_and_print()
    {
        Assert.Equal(new ModelShape(256, 4, 8, 704), ModelShape.Parse("256x4x8x704"));
        Assert.Equal("64x2x4x172", ModelShape.Tiny.ToString());
        Assert.Throws<FormatException>(() => ModelShape.Parse("256x4"));
    }
}
