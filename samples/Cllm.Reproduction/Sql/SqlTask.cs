namespace Cllm.Reproduction.Sql;

/// <summary>One text-to-SQL task.</summary>
/// <param name="DbId">The database the SQL runs on.</param>
/// <param name="Question">The English question; its literals appear verbatim in <paramref name="Sql"/>.</param>
/// <param name="Prompt">The model input: compact schema and question (see <see cref="SqlPrompt"/>).</param>
/// <param name="Sql">The gold SQL, canonical, ending with <c>;</c>: exactly what the model learns to emit after the prompt.</param>
/// <param name="Construct">The construct the task exercises.</param>
public sealed record SqlTask(string DbId, string Question, string Prompt, string Sql, SqlConstruct Construct);
