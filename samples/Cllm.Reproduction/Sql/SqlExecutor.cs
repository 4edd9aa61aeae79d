using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Cllm.Reproduction.Sql;

/// <summary>
/// Runs queries against private in-memory copies of a catalog's databases. After loading, an authorizer lets
/// statements only read (SELECT, column reads, functions, recursive CTEs: no writes, no PRAGMA, no ATTACH) and
/// each query is stopped after a fixed amount of work, so a generated query can neither change the data nor
/// hang the evaluation. Not thread-safe.
/// </summary>
internal sealed class SqlExecutor : IDisposable
{
    /// <summary>Progress callbacks (one per 1,000 virtual-machine steps) before a query is stopped.</summary>
    private const int MaxProgressCallbacks = 20_000;

    // SQLite authorizer action codes that only read.
    private const int SqliteRead = 20, SqliteSelect = 21, SqliteFunction = 31, SqliteRecursive = 33;
    private const int SqliteOk = 0, SqliteDeny = 1;

    private readonly Dictionary<string, SqliteConnection> _connections = new(StringComparer.Ordinal);
    private readonly SQLitePCL.delegate_progress _onProgress;
    private readonly SQLitePCL.delegate_authorizer _authorize;
    private int _callbacks;

    public SqlExecutor(SqlCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _onProgress = OnProgress;
        _authorize = Authorize;
        foreach (SqlDatabase database in catalog.Databases)
        {
            var connection = new SqliteConnection("Data Source=:memory:");
            connection.Open();
            SqliteLoader.Load(connection, database);
            using (SqliteCommand pragma = connection.CreateCommand())
            {
                pragma.CommandText = "PRAGMA query_only = ON";
                pragma.ExecuteNonQuery();
            }

            SQLitePCL.raw.sqlite3_progress_handler(connection.Handle, 1000, _onProgress, null);
            SQLitePCL.raw.sqlite3_set_authorizer(connection.Handle, _authorize, null);
            _connections[database.DbId] = connection;
        }
    }

    /// <summary>Runs <paramref name="sql"/> on database <paramref name="dbId"/>; SQL errors come back as a failed result.</summary>
    /// <exception cref="KeyNotFoundException">No such database.</exception>
    public QueryResult Execute(string dbId, string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        if (!_connections.TryGetValue(dbId, out SqliteConnection? connection))
        {
            throw new KeyNotFoundException($"no database '{dbId}' in the catalog");
        }

        _callbacks = 0;
        try
        {
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = sql;
            using SqliteDataReader reader = command.ExecuteReader();
            var rows = new List<string>();
            var row = new StringBuilder();
            while (reader.Read())
            {
                row.Clear();
                for (int i = 0; i < reader.FieldCount; i++)
                {
                    if (i > 0)
                    {
                        row.Append('\u001f');
                    }

                    row.Append(Canonical(reader.GetValue(i)));
                }

                rows.Add(row.ToString());
            }

            return new QueryResult(null, reader.FieldCount, rows);
        }
        catch (SqliteException e)
        {
            return QueryResult.Failed(e.Message);
        }
        catch (InvalidOperationException e)
        {
            // Microsoft.Data.Sqlite reports some malformed command texts this way.
            return QueryResult.Failed(e.Message);
        }
    }

    public void Dispose()
    {
        foreach (SqliteConnection connection in _connections.Values)
        {
            connection.Dispose();
        }

        _connections.Clear();
    }

    private int OnProgress(object user) => ++_callbacks > MaxProgressCallbacks ? 1 : 0;

    private static int Authorize(object user, int action, SQLitePCL.utf8z p0, SQLitePCL.utf8z p1, SQLitePCL.utf8z dbName, SQLitePCL.utf8z trigger) =>
        action is SqliteRead or SqliteSelect or SqliteFunction or SqliteRecursive ? SqliteOk : SqliteDeny;

    private static string Canonical(object value) => value switch
    {
        DBNull => "NULL",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d when Math.Abs(d) < 1e15 && d == Math.Floor(d) => ((long)d).ToString(CultureInfo.InvariantCulture),
        double d => Math.Round(d, 6).ToString("0.######", CultureInfo.InvariantCulture),
        string s => "'" + s,
        byte[] bytes => "x" + Convert.ToHexString(bytes),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
