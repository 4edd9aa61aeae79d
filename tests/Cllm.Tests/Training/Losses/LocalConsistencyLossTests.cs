using System;
using System.Linq;
using Cllm.Tests.TestKit;
using Cllm.Training;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Losses;

public class LocalConsistencyLossTests
{
    [Fact]
    public void TeacherIsTheNextStateAndPositionsStartAtTheirFirstDifference()
    {
        using var model = TinyLlama.Create(6);
        var record = LossFixtures.Record();
        var loss = new ConsistencyLoss(ConsistencyKind.Local);
        using var scope = NewDisposeScope();

        // y(0) vs y(1): first difference at 1; y(1) vs y(2): at 3; y(2) vs y(3): at 5.
        int[] expectedPositions = { 5, 3, 1 };
        for (int i = 0; i < 3; i++)
        {
            var example = ConsistencyExample.FromRecord(record, new ConsistencyPair(i, i + 1));
            var term = loss.Compute(model, new ConsistencyBatch(new[] { example }));
            double expected = LossFixtures.Consistency(model, record.PromptIds, record.Trajectory[i], record.Trajectory[i + 1], LossFixtures.ForwardKl);
            Assert.Equal(expectedPositions[i], term.Positions[0]);
            Assert.Equal(expected, term.Item, 1e-5);
        }

        // The last local pair is a global pair; earlier ones are not.
        var last = ConsistencyExample.FromRecord(record, new ConsistencyPair(2, 3));
        Assert.Equal(
            new ConsistencyLoss().Compute(model, new ConsistencyBatch(new[] { last })).Item,
            loss.Compute(model, new ConsistencyBatch(new[] { last })).Item);
        var first = new ConsistencyBatch(new[] { ConsistencyExample.FromRecord(record, new ConsistencyPair(0, 1)) });
        var firstGlobal = new ConsistencyBatch(new[] { ConsistencyExample.FromRecord(record, new ConsistencyPair(0, 3)) });
        Assert.NotEqual(new ConsistencyLoss().Compute(model, firstGlobal).Item, loss.Compute(model, first).Item, 4);
    }

    [Fact]
    public void SelectsAdjacentStates()
    {
        var record = LossFixtures.Record();
        var loss = new ConsistencyLoss(ConsistencyKind.Local);
        var random = new Random(11);
        var seen = new bool[3];
        for (int draw = 0; draw < 200; draw++)
        {
            var pair = loss.SelectPair(record, random);
            Assert.Equal(pair.StudentState + 1, pair.TeacherState);
            seen[pair.StudentState] = true;
        }

        Assert.All(seen, Assert.True);
        Assert.Equal(new ConsistencyPair(0, 0), loss.SelectPair(record with { Trajectory = new[] { record.FixedPoint } }, random));
    }
}
