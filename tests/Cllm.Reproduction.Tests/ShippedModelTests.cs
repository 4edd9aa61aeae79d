using System.IO;
using System.Linq;
using Cllm.Reproduction.Data;
using Cllm.Reproduction.Evaluation;
using Cllm.Reproduction.Pipeline;
using Cllm.Reproduction.Shipping;
using Cllm.Reproduction.Sql;
using Cllm.Reproduction.Training;
using Cllm.Tests.TestKit;
using Cllm.Core;

namespace Cllm.Reproduction.Tests;

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
        string dir = Path.Combine(ShippedModels.RepositoryRoot, "samples", "models", name);
        ShippedWeights.AssertRealSafetensors(Path.Combine(dir, "model.safetensors"));
        var report = ReportJson.Read<ShippedModelReport>(Path.Combine(dir, ModelShipper.ReportFileName));
        var encoder = new SqlSequenceEncoder(CllmTokenizer.FromDirectory(dir));
        var tasks = SqlTaskJsonl.Read(Path.Combine(ShippedModels.RepositoryRoot, "samples", "data", "sql-test.jsonl")).Take(20).ToList();
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
}
