using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm.Reproduction.Sql;

/// <summary>
/// Generates a seeded, deterministic Spider-like benchmark on the catalog's databases. Every gold query runs
/// and returns a non-trivial result (not empty, not a lone 0 or NULL). Each gold SQL and each question occurs
/// once in the whole benchmark, so test queries — including their literal combinations — are never seen in
/// training.
/// </summary>
/// <remarks>
/// A seed first gives a fixed, shuffled universe of <see cref="UniverseSize"/> distinct tasks; its first tenth
/// is the test region, the next tenth the dev region, the rest the train region, and each split is a prefix of
/// its region. So the test set of a seed does not depend on how many training tasks are asked for, a smaller
/// test set is a prefix of a larger one, and all splits share one construct mix.
/// </remarks>
public static class SqlTaskGenerator
{
    /// <summary>The number of distinct tasks a seed's universe holds.</summary>
    public const int UniverseSize = 16_000;

    /// <summary>The size of the test region and of the dev region: the most test (or dev) tasks a seed gives.</summary>
    public const int HeldOutRegion = UniverseSize / 10;

    /// <summary>The most training tasks a seed gives.</summary>
    public const int TrainRegion = UniverseSize - (2 * HeldOutRegion);

    /// <summary>
    /// The relative weight of each construct when drawing. Constructs with few distinct queries (no literals)
    /// run out and end up with a smaller share.
    /// </summary>
    public static IReadOnlyDictionary<SqlConstruct, int> Weights { get; } = new Dictionary<SqlConstruct, int>
    {
        [SqlConstruct.Select] = 9,
        [SqlConstruct.SelectAnd] = 4,
        [SqlConstruct.Lookup] = 4,
        [SqlConstruct.Like] = 2,
        [SqlConstruct.Count] = 7,
        [SqlConstruct.Aggregate] = 7,
        [SqlConstruct.Superlative] = 4,
        [SqlConstruct.SortedList] = 5,
        [SqlConstruct.Distinct] = 4,
        [SqlConstruct.GroupCount] = 4,
        [SqlConstruct.GroupAggregate] = 2,
        [SqlConstruct.Having] = 5,
        [SqlConstruct.JoinParentFilter] = 9,
        [SqlConstruct.JoinChildFilter] = 6,
        [SqlConstruct.JoinGroup] = 5,
        [SqlConstruct.NestedAverage] = 2,
        [SqlConstruct.NestedNotIn] = 6,
    };

    /// <summary>Generates the splits on <see cref="SqlCatalog.Default"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative or larger than its region.</exception>
    public static SqlTaskSet Generate(int seed, int trainCount, int devCount, int testCount) =>
        Generate(SqlCatalog.Default, seed, trainCount, devCount, testCount);

    /// <summary>Generates the splits on the databases of <paramref name="catalog"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative or larger than its region.</exception>
    public static SqlTaskSet Generate(SqlCatalog catalog, int seed, int trainCount, int devCount, int testCount) =>
        Generate(catalog, seed, trainCount, devCount, testCount, UniverseSize);

    /// <summary>As the public overload, with a smaller universe for quick tests.</summary>
    internal static SqlTaskSet Generate(SqlCatalog catalog, int seed, int trainCount, int devCount, int testCount, int universeSize)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        int heldOut = universeSize / 10;
        ArgumentOutOfRangeException.ThrowIfNegative(trainCount);
        ArgumentOutOfRangeException.ThrowIfNegative(devCount);
        ArgumentOutOfRangeException.ThrowIfNegative(testCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(testCount, heldOut);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(devCount, heldOut);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(trainCount, universeSize - (2 * heldOut));

        List<SqlTask> universe = Universe(catalog, seed, universeSize);
        return new SqlTaskSet(
            universe.Skip(2 * heldOut).Take(trainCount).ToList(),
            universe.Skip(heldOut).Take(devCount).ToList(),
            universe.Take(testCount).ToList());
    }

    /// <summary>Draws distinct tasks until there are <paramref name="size"/>, then shuffles them.</summary>
    private static List<SqlTask> Universe(SqlCatalog catalog, int seed, int size)
    {
        var rng = new Random(seed);
        var constructs = Weights.Keys.Order().ToArray();
        int totalWeight = constructs.Sum(c => Weights[c]);
        var samplers = catalog.Databases.Select(db => new QuestionSampler(db, rng)).ToArray();
        var seenSql = new HashSet<string>(StringComparer.Ordinal);
        var seenQuestions = new HashSet<string>(StringComparer.Ordinal);
        var pool = new List<SqlTask>(size);
        long attempts = 0, maxAttempts = (100L * size) + 10_000;

        using var executor = new SqlExecutor(catalog);
        while (pool.Count < size)
        {
            if (++attempts > maxAttempts)
            {
                throw new InvalidOperationException($"only {pool.Count} distinct tasks after {maxAttempts} draws; {size} were asked for");
            }

            SqlConstruct construct = Draw(constructs, totalWeight, rng);
            int dbIndex = rng.Next(samplers.Length);
            (string question, string sql) = samplers[dbIndex].Sample(construct);
            if (!seenSql.Add(sql) || !seenQuestions.Add(question))
            {
                continue;
            }

            SqlDatabase db = catalog.Databases[dbIndex];
            QueryResult result = executor.Execute(db.DbId, sql);
            if (!result.Succeeded)
            {
                throw new InvalidOperationException($"generated SQL fails on {db.DbId}: {result.Error}: {sql}");
            }

            if (!IsTrivial(result))
            {
                pool.Add(new SqlTask(db.DbId, question, SqlPrompt.Format(db.Schema, question), sql, construct));
            }
        }

        // Constructs with few distinct queries run out early in the draw; shuffling spreads them over the splits.
        return SqlDataFiller.Shuffled(pool, rng);
    }

    /// <summary>No rows, or one row of zeros and NULLs (a count of nothing, an aggregate over nothing).</summary>
    internal static bool IsTrivial(QueryResult result) =>
        result.Rows.Count == 0
        || (result.Rows.Count == 1 && result.Rows[0].Split('\u001f').All(v => v is "NULL" or "0"));

    private static SqlConstruct Draw(SqlConstruct[] constructs, int totalWeight, Random rng)
    {
        int r = rng.Next(totalWeight);
        foreach (SqlConstruct construct in constructs)
        {
            r -= Weights[construct];
            if (r < 0)
            {
                return construct;
            }
        }

        return constructs[^1];
    }
}
