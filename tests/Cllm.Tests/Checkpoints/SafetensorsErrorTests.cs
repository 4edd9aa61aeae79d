using System;
using System.IO;
using Cllm.Core;
using TorchSharp;

using Cllm.Tests.TestKit;

namespace Cllm.Tests.Checkpoints;

public sealed class SafetensorsErrorTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void FileShorterThanEightBytes()
    {
        var path = _folder.File("short.safetensors");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3, 4, 5 });

        AssertOpenFails(path, "shorter than the 8-byte header length field");
    }

    /// <summary>Corrupt files, one row each: header JSON, data bytes, a declared header length (0: the true one), the expected problem.</summary>
    public static TheoryData<string, string, int, ulong, string> CorruptFiles => new()
    {
        { "header length larger than the file", "{}", 0, 1000, "larger than the rest of the file" },
        { "absurd header length", "{}", 0, 200UL * 1024 * 1024, "absurdly large" },
        { "header not JSON", "{not json at all", 0, 0, "header is not valid JSON" },
        { "header not an object", "[1, 2]", 0, 0, "expected an object" },
        { "unknown dtype", """{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""", 2, 0, "tensor 'w': unknown dtype 'F8_E4M3'" },
        { "missing field", """{"w":{"dtype":"F32","data_offsets":[0,4]}}""", 4, 0, "'shape'" },
        { "negative shape", """{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4, 0, "expected a non-negative integer" },
        { "offsets against shape and dtype", """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, 0, "span 8 bytes, but shape [3] of F32 needs 12" },
        { "offsets out of order", """{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}""", 4, 0, "out of order" },
        { "offsets out of range", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[1000,1004]}}""", 8, 0, "tensor 'b': data_offsets [1000, 1004] are out of range" },
        { "truncated data", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 12, 0, "file truncated" },
        { "overlapping offsets", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, 0, "overlapping data_offsets" },
        { "hole between tensors", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12, 0, "belong to no tensor" },
        { "trailing bytes", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 10, 0, "6 bytes after the last tensor" },
        { "duplicate tensor name", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, 0, "lists tensor 'a' twice" },
        { "metadata must hold strings", """{"__metadata__":{"format":1}}""", 0, 0, "expected a string" },
    };

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void CorruptFileIsRefusedNamingFileAndProblem(string name, string header, int dataBytes, ulong declaredHeaderLength, string problem)
    {
        var path = _folder.File(name.Replace(' ', '-') + ".safetensors");
        RawSafetensors.Write(path, header, new byte[dataBytes], declaredHeaderLength: declaredHeaderLength == 0 ? null : declaredHeaderLength);

        AssertOpenFails(path, problem);
    }

    [Fact]
    public void MissingFile()
    {
        AssertOpenFails(_folder.File("absent.safetensors"), "file not found");
    }

    [Fact]
    public void EmptyHeaderIsAValidFileWithoutTensors()
    {
        var path = _folder.File("empty.safetensors");
        RawSafetensors.Write(path, "{}      ", Array.Empty<byte>());

        var file = SafetensorsFile.Open(path);

        Assert.Empty(file.Tensors);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void ReadingAnUnknownNameNamesFileAndTensor()
    {
        var path = _folder.File("one.safetensors");
        RawSafetensors.Write(path, """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", RawSafetensors.Floats(2.5f));
        var file = SafetensorsFile.Open(path);

        var ex = Assert.Throws<CheckpointException>(() => file.ReadTensor("b"));

        Assert.Contains("one.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no tensor named 'b'", ex.Message, StringComparison.Ordinal);
        using var a = file.ReadTensor("a");
        Assert.Equal(2.5f, a.item<float>());
    }

    [Fact]
    public void FileChangedAfterOpen()
    {
        var path = _folder.File("changing.safetensors");
        RawSafetensors.Write(path, """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", RawSafetensors.Floats(1f, 2f));
        var file = SafetensorsFile.Open(path);
        using (var stream = new FileStream(path, FileMode.Open))
        {
            stream.SetLength(stream.Length - 4);
        }

        var ex = Assert.Throws<CheckpointException>(() => file.ReadTensor("a"));

        Assert.Contains("changing.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("file changed since it was opened", ex.Message, StringComparison.Ordinal);
    }

    private static CheckpointException AssertOpenFails(string path, string problem)
    {
        var ex = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains(Path.GetFileName(path), ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.Equal(Path.GetFullPath(path), ex.FilePath);
        return ex;
    }
}
