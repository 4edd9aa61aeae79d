using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm.Reproduction.Sql;

/// <summary>
/// The benchmark's databases with their rows. The rows depend only on the data seed, not on the task seed,
/// so a task file plus <see cref="Default"/> is a complete benchmark (as Spider's questions plus its databases).
/// </summary>
public sealed class SqlCatalog
{
    /// <summary>The data seed of <see cref="Default"/>.</summary>
    public const int DefaultDataSeed = 20240521;

    private static readonly Lazy<SqlCatalog> DefaultCatalog = new(() => Create(DefaultDataSeed));

    private SqlCatalog(IReadOnlyList<SqlDatabase> databases)
    {
        Databases = databases;
    }

    /// <summary>The catalog every task file of this benchmark refers to.</summary>
    public static SqlCatalog Default => DefaultCatalog.Value;

    /// <summary>The databases in a fixed order.</summary>
    public IReadOnlyList<SqlDatabase> Databases { get; }

    /// <summary>Builds the databases with rows drawn from <paramref name="dataSeed"/>.</summary>
    public static SqlCatalog Create(int dataSeed)
    {
        var rng = new Random(dataSeed);
        return new SqlCatalog([.. CatalogSchemas.All().Select(schema => SqlDataFiller.Fill(schema, rng))]);
    }

    /// <summary>The database with id <paramref name="dbId"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such database.</exception>
    public SqlDatabase Get(string dbId) =>
        Databases.FirstOrDefault(d => d.DbId == dbId) ?? throw new KeyNotFoundException($"no database '{dbId}' in the catalog");
}
