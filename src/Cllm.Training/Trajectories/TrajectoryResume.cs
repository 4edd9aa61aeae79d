using System;
using System.Collections.Generic;
using System.IO;

namespace Cllm.Training;

/// <summary>
/// Prepares an existing collection output for resuming. Each prompt's records were written as one batch
/// whose lines all carry the batch size (<c>prompt_record_count</c>); a prompt is complete when its batch
/// holds that many lines. Only the end of the file can be incomplete (a crash mid-write): a last line
/// without a line break and a last batch short of its count are cut off, and that prompt is decoded
/// again. Anything else that does not fit (a short batch followed by more data, a prompt written twice,
/// another block size, another prompt text, another shard) is an error rather than something to guess at.
/// </summary>
internal static class TrajectoryResume
{
    /// <summary>The indices of the prompts already complete in <paramref name="path"/>, after cutting off an interrupted tail.</summary>
    /// <remarks>A record stamped with other settings than <paramref name="stamp"/> is refused; unstamped records are accepted.</remarks>
    public static (HashSet<int> Complete, long TruncatedBytes) Prepare(string path, IReadOnlyList<IReadOnlyList<int>> prompts, int blockSize, TrajectoryShard shard, CollectionStamp? stamp = null)
    {
        var complete = new HashSet<int>();
        if (!File.Exists(path))
        {
            return (complete, 0);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        long keep = 0;                                                                    // the file is valid up to here
        string? batchId = null;
        int batchIndex = -1, batchExpected = 0, batchSeen = 0, batchLine = 0;
        foreach (var line in JsonlLine.ReadAll(stream))
        {
            if (!line.Terminated)
            {
                break;                                                                    // cut short mid-line
            }

            if (line.IsBlank)
            {
                keep = batchId is null ? line.End : keep;
                continue;
            }

            var record = JsonlTrajectorySource.Parse(line, path, out int? count, out var recordStamp);
            if (stamp is not null && recordStamp?.Difference(stamp) is { } difference)
            {
                throw new FormatException($"{path}:{line.Number}: {difference}");
            }

            if (count is null)
            {
                throw new FormatException($"{path}:{line.Number}: no {TrajectoryJson.PromptRecordCount} field, so this file was not written by cllm collect and cannot be resumed; write to a new output.");
            }

            if (record.DataId != batchId)
            {
                if (batchId is not null)
                {
                    throw new FormatException($"{path}:{batchLine}: {batchId} has {batchSeen} of its {batchExpected} records and more data follows; the file is corrupt.");
                }

                batchIndex = CheckPrompt(path, line.Number, record, prompts, blockSize, shard);
                if (complete.Contains(batchIndex))
                {
                    throw new FormatException($"{path}:{line.Number}: {record.DataId} appears twice.");
                }

                (batchId, batchExpected, batchSeen, batchLine) = (record.DataId, count.Value, 0, line.Number);
            }
            else
            {
                CheckPrompt(path, line.Number, record, prompts, blockSize, shard);
            }

            if (count.Value != batchExpected)
            {
                throw new FormatException($"{path}:{line.Number}: {TrajectoryJson.PromptRecordCount} is {count.Value}; earlier lines of {batchId} say {batchExpected}.");
            }

            if (++batchSeen == batchExpected)
            {
                complete.Add(batchIndex);
                batchId = null;
                keep = line.End;
            }
        }

        long truncated = stream.Length - keep;
        if (truncated > 0)
        {
            stream.SetLength(keep);
            stream.Flush(flushToDisk: true);
        }

        return (complete, truncated);
    }

    /// <summary>Checks that a record belongs to this collection; returns its prompt index.</summary>
    private static int CheckPrompt(string path, int lineNumber, TrajectoryRecord record, IReadOnlyList<IReadOnlyList<int>> prompts, int blockSize, TrajectoryShard shard)
    {
        int index = TrajectoryJson.ParsePromptIndex(record.DataId);
        if (index < 0 || index >= prompts.Count)
        {
            throw new FormatException($"{path}:{lineNumber}: {record.DataId} is not a prompt of the prompts given ({prompts.Count}); is this output from another prompts file?");
        }

        if (!shard.Includes(index))
        {
            throw new FormatException($"{path}:{lineNumber}: {record.DataId} is not in shard {shard}; give each shard its own output.");
        }

        if (record.BlockLength != blockSize)
        {
            throw new FormatException($"{path}:{lineNumber}: blocks of {record.BlockLength} tokens; this run uses {blockSize}. Resume with the same block size or write to a new output.");
        }

        var prompt = prompts[index];
        bool same = record.PromptLength == prompt.Count;
        for (int i = 0; same && i < prompt.Count; i++)
        {
            same = record.PromptIds[i] == prompt[i];
        }

        if (!same)
        {
            throw new FormatException($"{path}:{lineNumber}: {record.DataId} was collected from another prompt than prompt {index} of the prompts given; is this output from another prompts file?");
        }

        return index;
    }
}
