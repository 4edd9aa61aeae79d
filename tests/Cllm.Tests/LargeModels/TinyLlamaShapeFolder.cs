using System;
using System.IO;
using Cllm.CommandLine;
using Cllm.Tests.TestKit;
using static TorchSharp.torch;

namespace Cllm.Tests.LargeModels;

/// <summary>
/// A random-weight float32 folder in the TinyLlama-1.1B shape (4.4 GB), written once per test run by <c>cllm dev init</c>'s
/// writer, or an existing one named by CLLM_1B_FOLDER (e.g. from <c>cllm dev init --shape tinyllama-1.1b --output DIR</c>).
/// Created only when a long test asks for it.
/// </summary>
public sealed class TinyLlamaShapeFolder : IDisposable
{
    private readonly Lazy<string> _path;
    private TempFolder? _temp;

    public TinyLlamaShapeFolder() => _path = new Lazy<string>(Create);

    /// <summary>The folder (created on first use).</summary>
    public string Path => _path.Value;

    private string Create()
    {
        if (Environment.GetEnvironmentVariable("CLLM_1B_FOLDER") is { Length: > 0 } given)
        {
            return given;
        }

        _temp = new TempFolder();
        string folder = _temp.File("tinyllama-1.1b-f32");
        RandomCheckpoint.Write(RandomCheckpoint.Shape("tinyllama-1.1b"), ScalarType.Float32, folder, seed: 0);
        return folder;
    }

    public void Dispose() => _temp?.Dispose();
}
