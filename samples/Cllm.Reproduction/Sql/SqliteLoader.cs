using System;
using System.Linq;
using Microsoft.Data.Sqlite;

namespace Cllm.Reproduction.Sql;

/// <summary>Creates a database's tables in an open SQLite connection and inserts its rows.</summary>
internal static class SqliteLoader
{
    public static void Load(SqliteConnection connection, SqlDatabase database)
    {
        using SqliteTransaction transaction = connection.BeginTransaction();
        foreach (string create in database.Schema.CreateStatements())
        {
            Run(connection, transaction, create);
        }

        foreach (TableSchema table in database.Schema.Tables)
        {
            using SqliteCommand insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = $"INSERT INTO {table.Name} ({string.Join(", ", table.Columns.Select(c => c.Name))}) " +
                $"VALUES ({string.Join(", ", table.Columns.Select((_, i) => "$p" + i))})";
            SqliteParameter[] parameters = [.. table.Columns.Select((_, i) => insert.Parameters.Add(new SqliteParameter("$p" + i, DBNull.Value)))];
            foreach (var row in database.Rows(table))
            {
                for (int i = 0; i < parameters.Length; i++)
                {
                    parameters[i].Value = row[i];
                }

                insert.ExecuteNonQuery();
            }
        }

        transaction.Commit();
    }

    private static void Run(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
