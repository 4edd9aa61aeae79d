using System;
using System.IO;
using Cllm.Reproduction.Pipeline;

namespace Cllm.Reproduction.Tests;

/// <summary>The pipeline's settings record what the stages use: label smoothing per trainer, and bad values refused.</summary>
public sealed class ReproductionSettingsTests
{
    [Fact]
    public void Label_smoothing_defaults_to_the_trainers_own_and_an_explicit_value_stays()
    {
        var defaults = new ReproductionSettings();
        Assert.Null(defaults.CllmLabelSmoothing);
        Assert.Equal(0.0, defaults.Resolved().CllmLabelSmoothing);                           // answer-only AR: none
        Assert.Equal(0.1, (defaults with { CllmAnswerOnlyAr = false }).Resolved().CllmLabelSmoothing); // whole sequence: the reference's
        Assert.Equal(0.2, (defaults with { CllmLabelSmoothing = 0.2 }).Resolved().CllmLabelSmoothing);
        var pipeline = new ReproductionPipeline(Path.GetTempPath(), defaults, TextWriter.Null);
        Assert.Equal(0.0, pipeline.Settings.CllmLabelSmoothing);
    }

    [Theory]
    [InlineData(-0.5)]
    [InlineData(1.5)]
    public void A_pipeline_refuses_label_smoothing_outside_0_to_1(double epsilon)
    {
        var e = Assert.Throws<ArgumentException>(() => new ReproductionPipeline(Path.GetTempPath(), new ReproductionSettings { CllmLabelSmoothing = epsilon }, TextWriter.Null));
        Assert.StartsWith("label smoothing must be in [0, 1)", e.Message, StringComparison.Ordinal);
    }
}
