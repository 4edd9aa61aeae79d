namespace Cllm.Training;

/// <summary>The objective's parts on one batch, as plain numbers for logs and progress.</summary>
/// <param name="Consistency">The consistency loss (global or local).</param>
/// <param name="Autoregressive">The autoregressive loss, unweighted (0 when its weight is 0).</param>
/// <param name="AutoregressiveWeight">ω, the autoregressive loss's weight.</param>
public readonly record struct LossComponents(double Consistency, double Autoregressive, double AutoregressiveWeight)
{
    /// <summary>consistency + ω · autoregressive.</summary>
    public double Total => Consistency + AutoregressiveWeight * Autoregressive;

    /// <summary>The mean of several components (for gradient accumulation and running averages).</summary>
    public static LossComponents Mean(System.Collections.Generic.IReadOnlyList<LossComponents> parts)
    {
        System.ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            return default;
        }

        double c = 0, a = 0;
        foreach (var p in parts)
        {
            c += p.Consistency;
            a += p.Autoregressive;
        }

        return new LossComponents(c / parts.Count, a / parts.Count, parts[0].AutoregressiveWeight);
    }
}
