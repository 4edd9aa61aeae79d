using System.Buffers.Binary;
using System.IO;
using System.Linq;
using Cllm.Reproduction.Data;
using Cllm.Reproduction.Evaluation;
using Cllm.Reproduction.Pipeline;
using Cllm.Reproduction.Shipping;
using Cllm.Reproduction.Sql;
using Cllm.Reproduction.Training;
using Cllm.Text;

namespace Cllm.Tests.Reproduction;

/// <summary>The models shipped in samples/models: they load, answer test questions, and Jacobi reproduces AR.</summary>
[Collection(SqlCollection.Name)]
public sealed class ShippedModelTests
{
    private readonly SqlFixture _sql;

    public ShippedModelTests(SqlFixture sql) => _sql = sql;

    [Theory]
    [InlineData("sql-base")]
    [InlineData("sql-cllm")]
    public void Shipped_model_answers_test_questions_and_jacobi_equals_ar(string name)
    {
        string dir = Path.Combine(SqlFixture.RepositoryRoot(), "samples", "models", name);
        AssertRealSafetensors(Path.Combine(dir, "model.safetensors"));
        var report = ReportJson.Read<ShippedModelReport>(Path.Combine(dir, ModelShipper.ReportFileName));
        var encoder = new SqlSequenceEncoder(CllmTokenizer.FromDirectory(dir));
        var tasks = SqlTaskJsonl.Read(Path.Combine(SqlFixture.RepositoryRoot(), "samples", "data", "sql-test.jsonl")).Take(20).ToList();
        using var model = ModelFolder.Load(dir);
        var evaluator = new SqlEvaluator(encoder, _sql.Scorer);
        var ar = evaluator.Run(model, DecoderOptions.Autoregressive, tasks);
        var jacobi = evaluator.Run(model, DecoderOptions.Parse($"jacobi:{report.BlockSize}"), tasks);
        Assert.True(ar.Score.ExecutionAccuracy >= 0.85, $"execution accuracy {ar.Score.ExecutionAccuracy}");
        Assert.Equal(ar.Sql, jacobi.Sql);
        double tpf = jacobi.Results.Sum(r => (double)r.Stats.GeneratedTokens) / jacobi.Results.Sum(r => r.Stats.ForwardPasses);
        if (name == "sql-cllm")
        {
            Assert.True(tpf >= 2.0, $"CLLM Jacobi tokens per forward {tpf:F2}");
        }
    }

    /// <summary>The weights are committed: a safetensors file of megabytes, not missing and not a Git LFS pointer.</summary>
    private static void AssertRealSafetensors(string path)
    {
        Assert.True(File.Exists(path), $"{path} is missing (the shipped models are committed)");
        long size = new FileInfo(path).Length;
        Assert.True(size > 1_000_000, $"{path}: {size} bytes; a Git LFS pointer or a truncated file, not the weights");

        // safetensors: an 8-byte little-endian header length, then a JSON header that fits in the file.
        using var stream = File.OpenRead(path);
        var head = new byte[9];
        stream.ReadExactly(head);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(head);
        Assert.InRange(headerLength, 2, size - 8);
        Assert.Equal((byte)'{', head[8]);
    }
}
