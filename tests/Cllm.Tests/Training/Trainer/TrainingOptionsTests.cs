using System;
using System.Linq;
using Cllm.Training;

namespace Cllm.Tests.Training.Trainer;

public class TrainingOptionsTests
{
    [Fact]
    public void DefaultsAreValidAndFollowTheReferenceObjective()
    {
        var options = new TrainingOptions();
        options.Validate();
        var objective = options.CreateObjective();
        Assert.Equal(ConsistencyKind.Global, objective.Consistency.Teacher);
        Assert.Equal(ConsistencyDistance.ForwardKl, objective.Consistency.Distance);
        Assert.Equal(10, objective.AutoregressiveWeight);
        Assert.Equal(0.1, objective.Autoregressive.LabelSmoothing);
        Assert.Equal(0, options.WeightDecay);
        Assert.Equal(1.0, options.MaxGradNorm);
        Assert.Equal(ConsistencyKind.Local, (options with { Consistency = ConsistencyKind.Local }).CreateObjective().Consistency.Teacher);
    }

    public static TheoryData<TrainingOptions> BadOptions => new()
    {
        new TrainingOptions { LearningRate = 0 },
        new TrainingOptions { LearningRate = double.NaN },
        new TrainingOptions { Beta1 = 1 },
        new TrainingOptions { Beta2 = -0.1 },
        new TrainingOptions { WeightDecay = -1 },
        new TrainingOptions { WarmupRatio = 1 },
        new TrainingOptions { MaxGradNorm = -1 },
        new TrainingOptions { BatchSize = 0 },
        new TrainingOptions { GradientAccumulation = 0 },
        new TrainingOptions { Epochs = 0 },
        new TrainingOptions { MaxSteps = 0 },
        new TrainingOptions { SaveEvery = -1 },
        new TrainingOptions { AutoregressiveWeight = -1 },
        new TrainingOptions { LabelSmoothing = 1 },
        new TrainingOptions { Distance = (ConsistencyDistance)42 },
        new TrainingOptions { Resume = true },
        new TrainingOptions { OutputDirectory = " " },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void RejectsOutOfRangeSettings(TrainingOptions options)
        => Assert.ThrowsAny<ArgumentException>(options.Validate);

    [Fact]
    public void StepsComeFromEpochsUnlessMaxStepsIsSet()
    {
        var options = new TrainingOptions { BatchSize = 4, GradientAccumulation = 2, Epochs = 3 };
        Assert.Equal(38, options.TotalSteps(100));                                         // ⌈3 · 100 / 8⌉
        Assert.Equal(7, (options with { MaxSteps = 7 }).TotalSteps(100));
    }

    [Fact]
    public void ScheduleWarmsUpLinearlyThenDecaysAlongACosine()
    {
        var schedule = new LearningRateSchedule(1.0, totalSteps: 14, warmupSteps: 4);
        Assert.Equal(0.25, schedule.At(0), 12);
        Assert.Equal(1.0, schedule.At(3), 12);
        Assert.Equal(1.0, schedule.At(4), 12);
        Assert.Equal(0.5, schedule.At(9), 12);                                             // halfway through 10 decay steps
        Assert.True(schedule.At(13) > 0 && schedule.At(13) < 0.03);
        var floor = new LearningRateSchedule(1.0, totalSteps: 14, warmupSteps: 0, minRatio: 0.1);
        Assert.Equal(1.0, floor.At(0), 12);
        Assert.Equal(0.55, floor.At(7), 12);
    }

    [Fact]
    public void SeveralStatesPerRecordAreDistinct()
    {
        var record = Cllm.Tests.Training.Losses.LossFixtures.Record();                     // 3 non-final states
        var random = new System.Random(4);
        foreach (int m in new[] { 1, 2, 3, 5 })
        {
            var pairs = ConsistencyTrainer.SelectPairs(new ConsistencyLoss(), record, random, m);
            Assert.Equal(System.Math.Min(m, 3), pairs.Count);
            Assert.Equal(pairs.Count, pairs.Select(p => p.StudentState).Distinct().Count());
            Assert.All(pairs, p => Assert.Equal(3, p.TeacherState));
        }
    }
}
