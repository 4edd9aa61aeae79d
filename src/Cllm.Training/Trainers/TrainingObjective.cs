namespace Cllm.Training;

/// <summary>What <see cref="ConsistencyTrainer"/> trains on the trajectory records.</summary>
public enum TrainingObjective
{
    /// <summary>
    /// The CLLM objective (<see cref="CllmObjective"/>): one block per example, a student state against the teacher
    /// state, + ω × AR. The default.
    /// </summary>
    Consistency = 0,

    /// <summary>
    /// Jacobi Forcing: consecutive blocks of a prompt packed as noisy/clean pairs under a noise-conditioned mask, the
    /// noisy state of each block chosen by a linear progressive noise schedule; soft cross-entropy of every noisy block
    /// against its clean block's detached prediction + ω × AR on the clean sequence (docs/jacobi-forcing.md).
    /// </summary>
    JacobiForcing,
}
