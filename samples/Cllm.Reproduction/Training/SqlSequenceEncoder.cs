using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Reproduction.Sql;
using Cllm.Core;

namespace Cllm.Reproduction.Training;

/// <summary>
/// Turns tasks into token sequences the way the model sees them: prompt and answer are encoded separately
/// (the prompt ends with a newline token, so no merge crosses the boundary), framed by BOS and EOS.
/// </summary>
public sealed class SqlSequenceEncoder
{
    private readonly CllmTokenizer _tokenizer;

    /// <summary>An encoder over <paramref name="tokenizer"/>, which must define BOS and EOS.</summary>
    public SqlSequenceEncoder(CllmTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        Bos = tokenizer.BosTokenId ?? throw new ArgumentException("the tokenizer has no BOS token.", nameof(tokenizer));
        Eos = tokenizer.EosTokenId ?? throw new ArgumentException("the tokenizer has no EOS token.", nameof(tokenizer));
    }

    /// <summary>The BOS id.</summary>
    public int Bos { get; }

    /// <summary>The EOS id.</summary>
    public int Eos { get; }

    /// <summary>BOS + prompt ids.</summary>
    public int[] EncodePrompt(string prompt) => [Bos, .. _tokenizer.Encode(prompt, addSpecial: false)];

    /// <summary>The whole training sequence of <paramref name="task"/>.</summary>
    public SqlSequence Encode(SqlTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        int[] prompt = EncodePrompt(task.Prompt);
        int[] answer = _tokenizer.Encode(task.Sql, addSpecial: false);
        return new SqlSequence([.. prompt, .. answer, Eos], prompt.Length);
    }

    /// <summary>Encodes every task.</summary>
    public List<SqlSequence> EncodeAll(IEnumerable<SqlTask> tasks) => tasks.Select(Encode).ToList();

    /// <summary>Decodes generated ids (special tokens dropped) back to SQL text.</summary>
    public string Decode(IReadOnlyList<int> ids) => _tokenizer.Decode(ids);
}
