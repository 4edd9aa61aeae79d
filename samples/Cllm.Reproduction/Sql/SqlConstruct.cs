namespace Cllm.Reproduction.Sql;

/// <summary>The SQL construct a task exercises (one question family with its canonical SQL shape).</summary>
public enum SqlConstruct
{
    /// <summary><c>SELECT label FROM t WHERE c = 'v';</c> (or <c>&gt;</c>, <c>&lt;</c> on a measure).</summary>
    Select,

    /// <summary><c>SELECT label FROM t WHERE c = 'v' AND m &gt; n;</c></summary>
    SelectAnd,

    /// <summary><c>SELECT c[, c2] FROM t WHERE label = 'v';</c></summary>
    Lookup,

    /// <summary><c>SELECT label FROM t WHERE label LIKE 'X%';</c> (a one- or two-letter prefix).</summary>
    Like,

    /// <summary><c>SELECT COUNT(*) FROM t [WHERE ...];</c></summary>
    Count,

    /// <summary><c>SELECT AVG|MAX|MIN|SUM(m) FROM t [WHERE ...];</c></summary>
    Aggregate,

    /// <summary><c>SELECT label FROM t [WHERE ...] ORDER BY m DESC|ASC LIMIT k;</c></summary>
    Superlative,

    /// <summary><c>SELECT label FROM t [WHERE ...] ORDER BY m ASC|DESC;</c></summary>
    SortedList,

    /// <summary><c>SELECT DISTINCT c FROM t [WHERE ...];</c></summary>
    Distinct,

    /// <summary><c>SELECT c, COUNT(*) FROM t [WHERE ...] GROUP BY c;</c></summary>
    GroupCount,

    /// <summary><c>SELECT c, AGG(m) FROM t [WHERE m &gt; v] GROUP BY c;</c></summary>
    GroupAggregate,

    /// <summary><c>SELECT c FROM t GROUP BY c HAVING COUNT(*) &gt; k;</c> or <c>HAVING AVG(m) &gt; v</c>.</summary>
    Having,

    /// <summary>Child rows filtered on their parent: <c>SELECT child.label|COUNT(*) FROM child JOIN parent ON parent.id = child.parent_id WHERE parent.c = 'v';</c></summary>
    JoinParentFilter,

    /// <summary>Parents with matching children: <c>SELECT DISTINCT parent.label FROM parent JOIN child ON ... WHERE child.c = 'v';</c></summary>
    JoinChildFilter,

    /// <summary>A join with GROUP BY: per-parent counts or aggregates, or <c>HAVING COUNT(*) &gt; k</c>.</summary>
    JoinGroup,

    /// <summary><c>SELECT label FROM t WHERE [c = 'v' AND] m &gt; (SELECT AVG(m) FROM t [WHERE ...]);</c></summary>
    NestedAverage,

    /// <summary><c>SELECT label FROM parent WHERE id NOT IN (SELECT parent_id FROM child [WHERE ...]);</c></summary>
    NestedNotIn,
}
