using System;
using System.IO;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Tools;

namespace Cllm.Tests.Cli;

/// <summary><c>cllm export</c>: writes a readable GGUF, and bad flags fail with one line before anything is written.</summary>
[Collection("Console")]
public sealed class ExportCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cllm-export-test-").FullName;

    private static string SqlCllm => Path.Combine(ShippedModels.RepositoryRoot, "samples", "models", "sql-cllm");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Export_writes_a_q8_0_gguf()
    {
        var path = Path.Combine(_dir, "sql-q8.gguf");
        var (code, error) = await CliRunner.Run("export", "--format", "gguf", "--type", "q8_0", "--model", SqlCllm, "--output", path);
        Assert.Equal(0, code);
        Assert.Contains("q8_0", error, StringComparison.Ordinal);
        var gguf = GgufReader.Read(path);
        Assert.Equal(7u, gguf.Metadata["general.file_type"].As<uint>());
        Assert.Contains(gguf.Tensors, t => t.Type == GgufTensorType.Q8_0);
    }

    [Theory]
    [InlineData("--type", "q4_0", "--type: 'q4_0' is not one of f32, f16, q8_0.")]
    [InlineData("--format", "onnx", "--format: 'onnx' is not supported (supported: gguf).")]
    public async Task Bad_flags_fail_with_one_line_and_write_nothing(string flag, string value, string message)
    {
        var path = Path.Combine(_dir, "x.gguf");
        var (code, error) = await CliRunner.Run("export", flag, value, "--model", SqlCllm, "--output", path);
        Assert.Equal(1, code);
        Assert.Equal("error: " + message, error.Trim());
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task A_missing_model_folder_is_named()
    {
        var (code, error) = await CliRunner.Run("export", "--model", Path.Combine(_dir, "none"), "--output", Path.Combine(_dir, "x.gguf"));
        Assert.Equal(1, code);
        Assert.Contains("model folder not found", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }
}
