namespace Cllm.Reproduction.Tests;

/// <summary>The reproduction tests share one <see cref="SqlFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class SqlCollection : ICollectionFixture<SqlFixture>
{
    public const string Name = "sql";
}
