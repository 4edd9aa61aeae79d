using System;

namespace Cllm.Reproduction.Sql;

/// <summary>
/// The prompt format: the question's database schema on one line, the question, and <c>sql:</c> followed by a
/// newline, after which the model writes the SQL. Example:
/// <code>
/// schema: singer(id name country age) album(id singer_id title genre year)
/// question: How many singers are there whose country is 'France'?
/// sql:
/// </code>
/// </summary>
public static class SqlPrompt
{
    /// <summary>The prompt for <paramref name="question"/> on <paramref name="schema"/>.</summary>
    public static string Format(DatabaseSchema schema, string question)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(question);
        return $"schema: {schema.CompactText}\nquestion: {question}\nsql:\n";
    }
}
