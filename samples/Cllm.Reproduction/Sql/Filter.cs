using System.Globalization;

namespace Cllm.Reproduction.Sql;

/// <summary>One WHERE condition <c>column op literal</c>, with its SQL and English forms.</summary>
/// <param name="Table">The table of the column.</param>
/// <param name="Column">The column compared.</param>
/// <param name="Op">"=", "&gt;" or "&lt;".</param>
/// <param name="Value">A <see cref="string"/> or a <see cref="long"/>.</param>
internal sealed record Filter(TableSchema Table, ColumnSchema Column, string Op, object Value)
{
    /// <summary>The literal as both SQL and question spell it: <c>'France'</c> or <c>30</c>.</summary>
    public string Literal => Value is string s ? "'" + s + "'" : ((long)Value).ToString(CultureInfo.InvariantCulture);

    /// <summary>The SQL condition; <paramref name="qualified"/> prefixes the table name (in joins).</summary>
    public string Sql(bool qualified = false) => (qualified ? Table.Name + "." : "") + Column.Name + " " + Op + " " + Literal;

    /// <summary>"whose country is 'France'" or "with country 'France'".</summary>
    public string Phrase(bool whose) => (whose ? "whose " : "with ") + Body(whose);

    /// <summary>The condition without its "whose"/"with" (for the second condition of an AND).</summary>
    public string Body(bool whose) => (Op, whose) switch
    {
        ("=", true) => $"{Column.Phrase} is {Literal}",
        ("=", false) => $"{Column.Phrase} {Literal}",
        (">", true) => $"{Column.Phrase} is above {Literal}",
        (">", false) => $"{Column.Phrase} greater than {Literal}",
        ("<", true) => $"{Column.Phrase} is below {Literal}",
        _ => $"{Column.Phrase} less than {Literal}",
    };
}
