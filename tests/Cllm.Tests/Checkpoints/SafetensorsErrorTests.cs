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

    [Fact]
    public void HeaderLengthLargerThanFile()
    {
        var path = _folder.File("long-header.safetensors");
        RawSafetensors.Write(path, "{}", Array.Empty<byte>(), declaredHeaderLength: 1000);

        AssertOpenFails(path, "larger than the rest of the file");
    }

    [Fact]
    public void AbsurdHeaderLength()
    {
        var path = _folder.File("absurd.safetensors");
        RawSafetensors.Write(path, "{}", Array.Empty<byte>(), declaredHeaderLength: 200UL * 1024 * 1024);

        AssertOpenFails(path, "absurdly large");
    }

    [Fact]
    public void HeaderNotJson()
    {
        var path = _folder.File("garbage.safetensors");
        RawSafetensors.Write(path, "{not json at all", Array.Empty<byte>());

        AssertOpenFails(path, "header is not valid JSON");
    }

    [Fact]
    public void HeaderNotAnObject()
    {
        var path = _folder.File("array.safetensors");
        RawSafetensors.Write(path, "[1, 2]", Array.Empty<byte>());

        AssertOpenFails(path, "expected an object");
    }

    [Fact]
    public void UnknownDtype()
    {
        var path = _folder.File("fp8.safetensors");
        RawSafetensors.Write(path, """{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""", new byte[2]);

        var ex = AssertOpenFails(path, "unknown dtype 'F8_E4M3'");
        Assert.Contains("'w'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingField()
    {
        var path = _folder.File("no-shape.safetensors");
        RawSafetensors.Write(path, """{"w":{"dtype":"F32","data_offsets":[0,4]}}""", new byte[4]);

        AssertOpenFails(path, "'shape'");
    }

    [Fact]
    public void NegativeShape()
    {
        var path = _folder.File("negative.safetensors");
        RawSafetensors.Write(path, """{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", new byte[4]);

        AssertOpenFails(path, "expected a non-negative integer");
    }

    [Fact]
    public void OffsetsDoNotMatchShapeAndDtype()
    {
        var path = _folder.File("size.safetensors");
        RawSafetensors.Write(path, """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", new byte[8]);

        AssertOpenFails(path, "span 8 bytes, but shape [3] of F32 needs 12");
    }

    [Fact]
    public void OffsetsOutOfOrder()
    {
        var path = _folder.File("order.safetensors");
        RawSafetensors.Write(path, """{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}""", new byte[4]);

        AssertOpenFails(path, "out of order");
    }

    [Fact]
    public void OffsetsOutOfRange()
    {
        var path = _folder.File("range.safetensors");
        RawSafetensors.Write(path, """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[1000,1004]}}""", new byte[8]);

        AssertOpenFails(path, "tensor 'b': data_offsets [1000, 1004] are out of range");
    }

    [Fact]
    public void TruncatedData()
    {
        var path = _folder.File("truncated.safetensors");
        RawSafetensors.Write(path, """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", new byte[12]);

        AssertOpenFails(path, "file truncated");
    }

    [Fact]
    public void OverlappingOffsets()
    {
        var path = _folder.File("overlap.safetensors");
        RawSafetensors.Write(path, """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", new byte[12]);

        AssertOpenFails(path, "overlapping data_offsets");
    }

    [Fact]
    public void HoleBetweenTensors()
    {
        var path = _folder.File("hole.safetensors");
        RawSafetensors.Write(path, """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", new byte[12]);

        AssertOpenFails(path, "belong to no tensor");
    }

    [Fact]
    public void TrailingBytes()
    {
        var path = _folder.File("trailing.safetensors");
        RawSafetensors.Write(path, """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[10]);

        AssertOpenFails(path, "6 bytes after the last tensor");
    }

    [Fact]
    public void DuplicateTensorName()
    {
        var path = _folder.File("dup.safetensors");
        RawSafetensors.Write(path, """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]);

        AssertOpenFails(path, "lists tensor 'a' twice");
    }

    [Fact]
    public void MetadataMustHoldStrings()
    {
        var path = _folder.File("meta.safetensors");
        RawSafetensors.Write(path, """{"__metadata__":{"format":1}}""", Array.Empty<byte>());

        AssertOpenFails(path, "expected a string");
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
