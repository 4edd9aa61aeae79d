namespace Cllm.Tests.TestKit;

/// <summary>
/// Long end-to-end runs (opt-in with CLLM_LONG_TESTS=1): they run alone, after the parallel tests, so their timings and
/// their use of the process-wide console are undisturbed.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LongRunCollection
{
    /// <summary>The collection name.</summary>
    public const string Name = "Long runs";
}
