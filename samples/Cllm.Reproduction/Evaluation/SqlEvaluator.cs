using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Cllm.Core;
using Cllm.Reproduction.Sql;
using Cllm.Reproduction.Training;

namespace Cllm.Reproduction.Evaluation;

/// <summary>Greedy decoding of SQL tasks with any Cllm decoder, and execution-accuracy scoring.</summary>
public sealed class SqlEvaluator
{
    private readonly SqlSequenceEncoder _encoder;
    private readonly ExecutionScorer _scorer;

    /// <summary>An evaluator that encodes prompts with <paramref name="encoder"/> and scores with <paramref name="scorer"/>.</summary>
    public SqlEvaluator(SqlSequenceEncoder encoder, ExecutionScorer scorer)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(scorer);
        _encoder = encoder;
        _scorer = scorer;
    }

    /// <summary>Generation cap: the longest gold answer is 26 tokens with EOS, so 64 leaves room for a rambling model.</summary>
    public const int DefaultMaxNewTokens = 64;

    /// <summary>The greedy request for <paramref name="task"/>: stop at EOS, at most <paramref name="maxNewTokens"/> tokens.</summary>
    public DecodeRequest Request(SqlTask task, int maxNewTokens = DefaultMaxNewTokens)
    {
        ArgumentNullException.ThrowIfNull(task);
        return new DecodeRequest
        {
            PromptIds = _encoder.EncodePrompt(task.Prompt),
            Options = new GenerationOptions { MaxNewTokens = maxNewTokens, StopTokenIds = new[] { _encoder.Eos } },
        };
    }

    /// <summary>Decodes every task with <paramref name="decoder"/> and scores the SQL.</summary>
    public SqlDecodeRun Run(LlamaForCausalLM model, DecoderOptions decoder, IReadOnlyList<SqlTask> tasks, int maxNewTokens = DefaultMaxNewTokens, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(tasks);
        var built = decoder.CreateDecoder(model);
        var results = tasks.Select(t => built.DecodeToEnd(Request(t, maxNewTokens), cancellationToken)).ToList();
        return Score(decoder.Label, tasks, results);
    }

    /// <summary>Scores decode results of <paramref name="tasks"/> (same order).</summary>
    public SqlDecodeRun Score(string label, IReadOnlyList<SqlTask> tasks, IReadOnlyList<DecodeResult> results)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(results);
        var sql = results.Select(r => _encoder.Decode(r.OutputIds)).ToList();
        return new SqlDecodeRun(label, results, sql, _scorer.Score(tasks, sql));
    }
}
