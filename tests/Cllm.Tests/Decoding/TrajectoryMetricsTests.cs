using Cllm;

namespace Cllm.Tests.Decoding;

public class TrajectoryMetricsTests
{
    [Fact]
    public void OneTokenPerIterationHasNoStationaryTokens()
    {
        // y* = 1 2 3 4; each iteration fixes exactly the next prefix token, later ones keep changing.
        var states = new[]
        {
            new[] { 1, 9, 9, 9 },
            new[] { 1, 2, 8, 8 },
            new[] { 1, 2, 3, 7 },
            new[] { 1, 2, 3, 4 },
        };
        Assert.Equal(4.0 / 3, TrajectoryMetrics.FastForwarded(states), 6);
        Assert.Equal(0, TrajectoryMetrics.Stationary(states));
    }

    [Fact]
    public void ATokenRightBeforeItsPrefixIsStationary()
    {
        // Token 3 (value 4) is final from state 1 on although token 2 is wrong until state 2.
        var states = new[]
        {
            new[] { 1, 9, 9, 9 },
            new[] { 1, 2, 8, 4 },
            new[] { 1, 2, 3, 4 },
        };
        Assert.Equal(1, TrajectoryMetrics.Stationary(states));
        Assert.Equal(2.0, TrajectoryMetrics.FastForwarded(states), 6);
        Assert.Equal(2, TrajectoryMetrics.PrefixLength(states[1], states[^1]));
    }

    [Fact]
    public void ATokenThatChangesAgainIsNotStationary()
    {
        var states = new[]
        {
            new[] { 1, 9, 4, 9 },
            new[] { 1, 2, 5, 6 },
            new[] { 1, 2, 4, 6 },
        };
        // Token 2 was 4 in state 0 (not counted), then wrong, then right: only token 3 held its value early.
        Assert.Equal(1, TrajectoryMetrics.Stationary(states));
    }
}
