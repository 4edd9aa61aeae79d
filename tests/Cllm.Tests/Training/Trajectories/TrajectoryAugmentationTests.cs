using System;
using System.Linq;
using Cllm.Training;

namespace Cllm.Tests.Training.Trajectories;

public class TrajectoryAugmentationTests
{
    [Fact]
    public void AugmentationKeepsTheFixedPointAndNeverConvergesAState()
    {
        var random = new Random(7);
        int changedTotal = 0;
        for (int trial = 0; trial < 500; trial++)
        {
            var record = RandomRecord(random, n: 1 + random.Next(12), states: 1 + random.Next(8));
            var original = record.Trajectory.Select(s => (int[])s.Clone()).ToArray();
            var (augmented, changed) = TrajectoryAugmentation.Augment(record, new Random(trial));
            changedTotal += changed;

            Assert.Equal(original.Length, augmented.Trajectory.Count);
            for (int j = 0; j < original.Length; j++)
            {
                Assert.Equal(original[j], record.Trajectory[j]);                          // the input is untouched
            }

            var fixedPoint = original[^1];
            Assert.Equal(fixedPoint, augmented.FixedPoint);
            if (original.Length >= 2)
            {
                Assert.Equal(original[^2], augmented.Trajectory[^2]);                    // the state before y* is left alone too
            }

            int expectedChanged = 0;
            for (int j = 0; j < original.Length - 1; j++)
            {
                var before = original[j];
                var after = augmented.Trajectory[j];
                Assert.Equal(before.Length, after.Length);
                Assert.False(after.AsSpan().SequenceEqual(fixedPoint), $"trial {trial}: state {j} became the fixed point");
                Assert.Equal(FirstMismatch(before, fixedPoint), FirstMismatch(after, fixedPoint));
                int wrong = before.Zip(fixedPoint).Count(p => p.First != p.Second);
                int corrected = 0;
                for (int p = 0; p < before.Length; p++)
                {
                    if (after[p] != before[p])
                    {
                        Assert.Equal(fixedPoint[p], after[p]);                            // only ever corrected to y*
                        corrected++;
                    }
                }

                Assert.True(corrected <= wrong / 2);
                if (j <= original.Length - 3 && wrong >= 2)
                {
                    Assert.True(corrected >= 1);
                    expectedChanged++;
                }
            }

            Assert.Equal(expectedChanged, changed);
        }

        Assert.True(changedTotal > 100);
    }

    [Fact]
    public void AugmentationIsSeeded()
    {
        var record = RandomRecord(new Random(3), n: 16, states: 6);
        var a = TrajectoryAugmentation.Augment(record, new Random(11)).Record;
        var b = TrajectoryAugmentation.Augment(record, new Random(11)).Record;
        for (int j = 0; j < a.Trajectory.Count; j++)
        {
            Assert.Equal(a.Trajectory[j], b.Trajectory[j]);
        }
    }

    [Theory]
    [InlineData(new[] { 1, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5 }, true)]           // ten 4s
    [InlineData(new[] { 1, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 4 }, false)]          // nine 4s
    [InlineData(new[] { 4, 4, 4, 4, 4, 4, 4, 4, 4, 4 }, true)]                 // a run from index 0 counts
    [InlineData(new[] { 1, 6, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4 }, false)]       // after the first EOS (2): not scanned
    [InlineData(new[] { 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3 }, true)]           // an EOS at index 0 does not end the scan
    [InlineData(new[] { 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2 }, false)]
    public void CleaningFindsTenIdenticalTokensBeforeTheFirstEos(int[] ids, bool repetitive)
        => Assert.Equal(repetitive, TrajectoryCleaning.IsRepetitive(ids, new[] { 2 }));

    [Fact]
    public void CleaningLooksAtTheTeacherOutput()
    {
        var record = TrajectoryFixtures.Record();
        Assert.False(TrajectoryCleaning.IsLowQuality(record, new[] { 2 }));
        var repetitive = record with
        {
            PromptIds = new[] { 1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5 },
            TeacherOutputIds = new[] { 1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 7, 8, 6, 5 },
        };
        Assert.True(TrajectoryCleaning.IsLowQuality(repetitive, new[] { 2 }));
    }

    private static int FirstMismatch(int[] state, int[] fixedPoint)
    {
        int i = 0;
        while (i < state.Length && state[i] == fixedPoint[i])
        {
            i++;
        }

        return i;
    }

    /// <summary>States over a 4-token alphabet so that many positions already match y*.</summary>
    private static TrajectoryRecord RandomRecord(Random random, int n, int states)
    {
        var fixedPoint = Enumerable.Range(0, n).Select(_ => random.Next(4)).ToArray();
        var trajectory = Enumerable.Range(0, states - 1)
            .Select(_ =>
            {
                int[] s;
                do
                {
                    s = Enumerable.Range(0, n).Select(_ => random.Next(4)).ToArray();
                }
                while (s.AsSpan().SequenceEqual(fixedPoint));
                return s;
            })
            .Append(fixedPoint)
            .ToArray();
        return new TrajectoryRecord
        {
            DataId = "data_0",
            BlockIndex = 0,
            PromptLength = 1,
            PromptIds = new[] { 1 },
            Trajectory = trajectory,
            TeacherOutputIds = fixedPoint.Prepend(1).ToArray(),
        };
    }
}
