using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using Cllm.Reproduction.Data;
using Cllm.Reproduction.Sql;
using Cllm.Reproduction.Tokenization;
using Cllm.Core;

namespace Cllm.Reproduction.Commands;

/// <summary>
/// <c>data</c>: generates the text-to-SQL splits, trains the domain tokenizer on the training split, writes
/// the task files, the tokenizer folder and the SQLite files, and prints the dataset's figures.
/// </summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "sql-data" };
        var seed = new Option<int>("--seed") { Description = "Task seed (the databases use a fixed data seed)", DefaultValueFactory = _ => 1 };
        var train = new Option<int>("--train") { Description = "Training tasks", DefaultValueFactory = _ => 10_000 };
        var dev = new Option<int>("--dev") { Description = "Validation tasks", DefaultValueFactory = _ => 500 };
        var test = new Option<int>("--test") { Description = "Test tasks", DefaultValueFactory = _ => 200 };
        var vocab = new Option<int>("--vocab-size") { Description = "Most tokenizer ids, specials and bytes included (training stops earlier when no pair repeats)", DefaultValueFactory = _ => 1280 };
        var sweep = new Option<string?>("--sweep") { Description = "Comma-separated vocabulary sizes to compare (figures only)" };
        var command = new Command("data", "Generate the text-to-SQL splits, the domain tokenizer and the SQLite databases.")
        {
            output, seed, train, dev, test, vocab, sweep,
        };
        command.SetAction(parse =>
        {
            Run(parse.GetValue(output)!, parse.GetValue(seed), parse.GetValue(train), parse.GetValue(dev), parse.GetValue(test),
                parse.GetValue(vocab), parse.GetValue(sweep));
            return 0;
        });
        return command;
    }

    internal static void Run(string dir, int seed, int trainCount, int devCount, int testCount, int vocabSize, string? sweep)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        SqlTaskSet set = SqlTaskGenerator.Generate(seed, trainCount, devCount, testCount);
        Console.WriteLine($"generated {set.Train.Count}/{set.Dev.Count}/{set.Test.Count} tasks in {clock.Elapsed.TotalSeconds:F1} s");

        Directory.CreateDirectory(dir);
        SqlTaskJsonl.Write(Path.Combine(dir, "sql-train.jsonl"), set.Train);
        SqlTaskJsonl.Write(Path.Combine(dir, "sql-dev.jsonl"), set.Dev);
        SqlTaskJsonl.Write(Path.Combine(dir, "sql-test.jsonl"), set.Test);
        SqliteFileWriter.Write(SqlCatalog.Default, Path.Combine(dir, "databases"));

        PrintShares(set.Train);
        List<string> corpus = [.. set.Train.SelectMany(t => new[] { t.Prompt, t.Sql })];
        foreach (int size in ParseSizes(sweep))
        {
            PrintLengths($"vocab {size}", BpeTrainer.Train(corpus, size), set.Test);
        }

        clock.Restart();
        BpeVocabulary vocabulary = BpeTrainer.Train(corpus, vocabSize);
        Console.WriteLine($"tokenizer: {vocabulary.Count} ids, {vocabulary.Merges.Count} merges, trained in {clock.Elapsed.TotalSeconds:F1} s");
        string tokenizerDir = Path.Combine(dir, "tokenizer");
        TokenizerFolderWriter.Write(vocabulary, tokenizerDir);
        PrintLengths("train", vocabulary, set.Train);
        PrintLengths("test", vocabulary, set.Test);
        CheckLoadedTokenizer(tokenizerDir, vocabulary, set);
        foreach (SqlTask task in set.Test.Take(2))
        {
            Console.WriteLine("example tokens: " + string.Join('|', vocabulary.Encode(task.Prompt + task.Sql).Select(id => Readable(vocabulary.Tokens[id]))));
        }

        Console.WriteLine($"wrote {dir}/sql-{{train,dev,test}}.jsonl, {dir}/tokenizer, {dir}/databases");
    }

    /// <summary>A byte-level token with its space and newline symbols shown as "␣" and "⏎".</summary>
    private static string Readable(string token) => token.Replace('\u0120', '\u2423').Replace('\u010A', '\u23CE');

    private static IEnumerable<int> ParseSizes(string? sweep) =>
        string.IsNullOrWhiteSpace(sweep) ? [] : sweep.Split(',').Select(s => int.Parse(s.Trim(), CultureInfo.InvariantCulture));

    private static void PrintShares(IReadOnlyList<SqlTask> tasks)
    {
        Console.WriteLine("construct shares (train):");
        foreach (var group in tasks.GroupBy(t => t.Construct).OrderBy(g => g.Key))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {group.Key,-18} {group.Count(),6}  {100.0 * group.Count() / tasks.Count,5:F1}%"));
        }
    }

    private static void PrintLengths(string label, BpeVocabulary vocabulary, IReadOnlyList<SqlTask> tasks)
    {
        int[] prompt = [.. tasks.Select(t => vocabulary.Encode(t.Prompt).Length + 1)];
        int[] answer = [.. tasks.Select(t => vocabulary.Encode(t.Sql).Length + 1)];
        int[] question = [.. tasks.Select(t => vocabulary.Encode(t.Question).Length)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label}: prompt+BOS {prompt.Average():F1} (max {prompt.Max()}), answer+EOS {answer.Average():F1} (max {answer.Max()}), " +
            $"question {question.Average():F1}, sequence {prompt.Zip(answer, (p, a) => p + a).Average():F1} (max {prompt.Zip(answer, (p, a) => p + a).Max()}) tokens"));
    }

    /// <summary>Loads the written folder with Cllm's own loader and checks ids and round trips on every text.</summary>
    private static void CheckLoadedTokenizer(string tokenizerDir, BpeVocabulary vocabulary, SqlTaskSet set)
    {
        CllmTokenizer tokenizer = CllmTokenizer.FromDirectory(tokenizerDir);
        int checkedTexts = 0;
        foreach (SqlTask task in set.Train.Concat(set.Dev).Concat(set.Test))
        {
            foreach (string text in new[] { task.Prompt, task.Sql, task.Prompt + task.Sql })
            {
                int[] ids = tokenizer.Encode(text, addSpecial: false);
                if (!ids.SequenceEqual(vocabulary.Encode(text)) || tokenizer.Decode(ids) != text)
                {
                    throw new InvalidOperationException($"tokenizer check failed on: {text}");
                }

                checkedTexts++;
            }
        }

        Console.WriteLine($"tokenizer check: {checkedTexts} texts encode to the reference ids and decode back (BOS {tokenizer.BosTokenId}, EOS {tokenizer.EosTokenId}, vocab {tokenizer.VocabSize})");
    }
}
