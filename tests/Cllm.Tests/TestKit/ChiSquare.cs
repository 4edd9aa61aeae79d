using System.Collections.Generic;
using System.Linq;

namespace Cllm.Tests.TestKit;

/// <summary>Pearson's chi-square goodness-of-fit test for sampled token counts.</summary>
internal static class ChiSquare
{
    // Quantiles at 1 − 1e-4 for 1..7 degrees of freedom: a correct sampler fails one check in 10,000.
    private static readonly double[] CriticalValues = { double.NaN, 15.14, 18.42, 21.11, 23.51, 25.74, 27.86, 29.88 };

    /// <summary>The statistic's limit at p = 1e-4 for <paramref name="degreesOfFreedom"/> (1..7).</summary>
    public static double Critical(int degreesOfFreedom) => CriticalValues[degreesOfFreedom];

    /// <summary>
    /// The statistic of <paramref name="observed"/> counts against <paramref name="probabilities"/>, after pooling the
    /// rarest cells until every bin expects at least 5 samples, and its degrees of freedom.
    /// </summary>
    public static (double Statistic, int DegreesOfFreedom) Test(IReadOnlyList<double> observed, IReadOnlyList<double> probabilities)
    {
        double total = observed.Sum();
        var cells = Enumerable.Range(0, observed.Count).Select(i => (Observed: observed[i], Expected: probabilities[i] * total)).OrderBy(c => c.Expected).ToList();
        var bins = new List<(double Observed, double Expected)>();
        (double o, double e) pooled = (0, 0);
        foreach (var cell in cells)
        {
            if (pooled.e < 5)
            {
                pooled = (pooled.o + cell.Observed, pooled.e + cell.Expected);
            }
            else
            {
                bins.Add(cell);
            }
        }

        bins.Add(pooled);
        return (bins.Sum(b => (b.Observed - b.Expected) * (b.Observed - b.Expected) / b.Expected), bins.Count - 1);
    }
}
