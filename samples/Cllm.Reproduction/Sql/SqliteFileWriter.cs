using System;
using System.IO;
using Microsoft.Data.Sqlite;

namespace Cllm.Reproduction.Sql;

/// <summary>Writes a catalog's databases as SQLite files (<c>{db_id}.sqlite</c>) for inspection with other tools.</summary>
public static class SqliteFileWriter
{
    /// <summary>Writes every database of <paramref name="catalog"/> into <paramref name="dir"/>, replacing old files.</summary>
    public static void Write(SqlCatalog catalog, string dir)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(dir);
        Directory.CreateDirectory(dir);
        foreach (SqlDatabase database in catalog.Databases)
        {
            string path = Path.Combine(dir, database.DbId + ".sqlite");
            File.Delete(path);
            using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
            {
                connection.Open();
                SqliteLoader.Load(connection, database);
            }
        }
    }
}
