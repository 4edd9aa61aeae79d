using System;
using System.IO;
using System.Linq;
using Cllm.Reproduction.Sql;
using Cllm.Reproduction.Tokenization;
using Cllm.Tests.TestKit;
using Cllm.Core;

namespace Cllm.Reproduction.Tests;

/// <summary>
/// One benchmark at the recommended sizes (seed 1: 10,000 / 500 / 200), its tokenizer trained on the training
/// split and written to a temp folder, and a scorer: built once for all reproduction tests.
/// </summary>
public sealed class SqlFixture : IDisposable
{
    private readonly TempFolder _folder = new();

    public SqlFixture()
    {
        Set = SqlTaskGenerator.Generate(Seed, 10_000, 500, 200);
        Vocabulary = BpeTrainer.Train(Set.Train.SelectMany(t => new[] { t.Prompt, t.Sql }), 1280);
        TokenizerDir = Path.Combine(_folder.Path, "tokenizer");
        TokenizerFolderWriter.Write(Vocabulary, TokenizerDir);
        Tokenizer = CllmTokenizer.FromDirectory(TokenizerDir);
        Scorer = new ExecutionScorer();
    }

    public const int Seed = 1;

    public SqlTaskSet Set { get; }

    public BpeVocabulary Vocabulary { get; }

    public string TokenizerDir { get; }

    public CllmTokenizer Tokenizer { get; }

    public ExecutionScorer Scorer { get; }

    /// <summary>Every task of the three splits.</summary>
    public SqlTask[] All => [.. Set.Train, .. Set.Dev, .. Set.Test];

    public void Dispose()
    {
        Scorer.Dispose();
        _folder.Dispose();
    }
}
