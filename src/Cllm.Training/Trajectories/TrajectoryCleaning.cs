using System;
using System.Collections.Generic;

namespace Cllm.Training;

/// <summary>The reference's rule-based cleaning (section 2.5.2): drop records whose teacher output degenerates into one repeated token.</summary>
internal static class TrajectoryCleaning
{
    /// <summary>Run length the reference treats as low quality.</summary>
    public const int DefaultRunLength = 10;

    /// <summary>
    /// True when <paramref name="ids"/> holds <paramref name="runLength"/> identical consecutive tokens before
    /// its first EOS. As in the reference the scan starts at index 1 (an EOS at index 0 does not end it) and
    /// covers the whole sequence, prompt included. Despite the reference's name it finds single-token runs,
    /// not n-gram loops.
    /// </summary>
    public static bool IsRepetitive(IReadOnlyList<int> ids, IReadOnlyList<int> eosTokenIds, int runLength = DefaultRunLength)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(eosTokenIds);
        ArgumentOutOfRangeException.ThrowIfLessThan(runLength, 2);
        int run = 1;
        for (int i = 1; i < ids.Count; i++)
        {
            if (Contains(eosTokenIds, ids[i]))
            {
                break;
            }

            run = ids[i] == ids[i - 1] ? run + 1 : 1;
            if (run >= runLength)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when the record's <c>teacher_output_ids</c> is repetitive (<see cref="IsRepetitive"/>).</summary>
    public static bool IsLowQuality(TrajectoryRecord record, IReadOnlyList<int> eosTokenIds)
    {
        ArgumentNullException.ThrowIfNull(record);
        return IsRepetitive(record.TeacherOutputIds, eosTokenIds);
    }

    private static bool Contains(IReadOnlyList<int> ids, int token)
    {
        for (int i = 0; i < ids.Count; i++)
        {
            if (ids[i] == token)
            {
                return true;
            }
        }

        return false;
    }
}
