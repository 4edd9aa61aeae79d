using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Cllm.Core;
using TorchSharp;

using Cllm.Tests.TestKit;

namespace Cllm.Tests.Checkpoints;

public class SafetensorsRoundTripTests
{
    [Theory]
    [InlineData(torch.ScalarType.Float32, 0.0)]
    [InlineData(torch.ScalarType.Float16, 1e-3)]
    [InlineData(torch.ScalarType.BFloat16, 8e-3)]
    public void FloatTensorsSurviveWriteAndRead(torch.ScalarType storeAs, double relativeTolerance)
    {
        using var folder = new TempFolder();
        using var scope = torch.NewDisposeScope();
        var source = torch.randn(new long[] { 7, 5 }, generator: new torch.Generator(42));
        var path = folder.File("x.safetensors");

        SafetensorsWriter.Write(path, new Dictionary<string, torch.Tensor> { ["w"] = source }, storeAs);

        var file = SafetensorsFile.Open(path);
        var entry = file.Tensors["w"];
        Assert.Equal(storeAs, entry.ScalarType);
        Assert.Equal(new long[] { 7, 5 }, entry.Shape);
        var stored = file.ReadTensor("w");
        Assert.Equal(storeAs, stored.dtype);
        Assert.True(stored.Equals(source.to_type(storeAs)), "stored bits equal the dtype-rounded source");
        var back = file.ReadTensor("w", torch.ScalarType.Float32);
        Assert.Equal(torch.ScalarType.Float32, back.dtype);
        Assert.True(back.allclose(source, rtol: relativeTolerance, atol: 1e-6), $"values within {relativeTolerance} of the source");
    }

    [Fact]
    public void ABlockOfRowsReadsAsThatSliceOfTheWholeTensor()
    {
        using var folder = new TempFolder();
        using var scope = torch.NewDisposeScope();
        var source = torch.randn(new long[] { 10, 3, 2 }, generator: new torch.Generator(43));
        var path = folder.File("x.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, torch.Tensor> { ["w"] = source }, torch.ScalarType.BFloat16);
        var file = SafetensorsFile.Open(path);
        var whole = file.ReadTensor("w");
        foreach (var (start, count) in new[] { (0L, 10L), (3L, 4L), (9L, 1L), (10L, 0L) })
        {
            var rows = file.ReadRows("w", start, count);
            Assert.Equal(new[] { count, 3L, 2L }, rows.shape);
            Assert.True(rows.Equals(whole.narrow(0, start, count)), $"rows {start}..{start + count}");
        }

        Assert.True(file.ReadRows("w", 6, null, torch.ScalarType.Float32).Equals(whole.narrow(0, 6, 4).to_type(torch.ScalarType.Float32)));
        Assert.Equal(new long[] { 10, 3, 2 }, file.Tensors["w"].Shape);                     // the header is not changed by a partial read
        Assert.Throws<System.ArgumentOutOfRangeException>(() => file.ReadRows("w", 8, 3));
        Assert.Throws<System.ArgumentOutOfRangeException>(() => file.ReadRows("w", -1, 1));
    }

    [Fact]
    public void EveryDtypeRoundTripsExactly()
    {
        using var folder = new TempFolder();
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, torch.Tensor>
        {
            ["f64"] = torch.tensor(new[] { 1.5, -2.25, 1e300 }),
            ["f32"] = torch.tensor(new[] { 1.5f, -2.25f }),
            ["f16"] = torch.tensor(new[] { 1.5f, -2.25f }).to_type(torch.ScalarType.Float16),
            ["bf16"] = torch.tensor(new[] { 1.5f, -2.25f }).to_type(torch.ScalarType.BFloat16),
            ["i64"] = torch.tensor(new[] { long.MaxValue, -1L }),
            ["i32"] = torch.tensor(new[] { int.MinValue, 7 }),
            ["i16"] = torch.tensor(new short[] { -300, 300 }),
            ["i8"] = torch.tensor(new sbyte[] { -128, 127 }),
            ["u8"] = torch.tensor(new byte[] { 0, 255 }),
            ["bool"] = torch.tensor(new[] { true, false, true }),
            ["scalar"] = torch.tensor(3.5f),
            ["empty"] = torch.zeros(0, 4),
        };
        var path = folder.File("all.safetensors");

        SafetensorsWriter.Write(path, tensors);

        var file = SafetensorsFile.Open(path);
        Assert.Equal(tensors.Keys.OrderBy(k => k, System.StringComparer.Ordinal), file.Tensors.Keys);
        Assert.Equal("pt", file.Metadata["format"]);
        foreach (var (name, expected) in tensors)
        {
            var actual = file.ReadTensor(name);
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(expected.Equals(actual), name);
        }

        Assert.Equal(new[] { "BF16", "BOOL", "F16", "F32", "F64", "I16", "I32", "I64", "I8", "U8" },
            file.Tensors.Values.Where(e => e.Name is not ("scalar" or "empty")).Select(e => e.Dtype).OrderBy(d => d, System.StringComparer.Ordinal));
    }

    [Fact]
    public void StoreAsConvertsOnlyFloatingTensors()
    {
        using var folder = new TempFolder();
        using var scope = torch.NewDisposeScope();
        var path = folder.File("mixed.safetensors");

        SafetensorsWriter.Write(path, new Dictionary<string, torch.Tensor>
        {
            ["ids"] = torch.tensor(new long[] { 0, 1, 2, 3, 4 }),
            ["w"] = torch.ones(2, 2),
        }, torch.ScalarType.BFloat16);

        var file = SafetensorsFile.Open(path);
        Assert.Equal("I64", file.Tensors["ids"].Dtype);
        Assert.Equal("BF16", file.Tensors["w"].Dtype);
    }

    [Fact]
    public void NonContiguousTensorsAreWrittenInLogicalOrder()
    {
        using var folder = new TempFolder();
        using var scope = torch.NewDisposeScope();
        var source = torch.tensor(new float[] { 0, 1, 2, 3, 4, 5 }).reshape(2, 3).t();
        Assert.False(source.is_contiguous());
        var path = folder.File("t.safetensors");

        SafetensorsWriter.Write(path, new[] { new KeyValuePair<string, torch.Tensor>("t", source) });

        Assert.True(source.Equals(SafetensorsFile.Open(path).ReadTensor("t")));
    }

    [Fact]
    public void HeaderIsHuggingFaceShaped()
    {
        using var folder = new TempFolder();
        using var scope = torch.NewDisposeScope();
        var path = folder.File("h.safetensors");

        SafetensorsWriter.Write(path, new Dictionary<string, torch.Tensor>
        {
            ["b.weight"] = torch.ones(3),
            ["a.weight"] = torch.ones(2, 2),
        });

        var bytes = File.ReadAllBytes(path);
        var headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + headerLength) % 8);
        var header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\"},\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}", header, System.StringComparison.Ordinal);
        Assert.EndsWith("}", header.TrimEnd(' '), System.StringComparison.Ordinal);
        Assert.True(header.Length - header.TrimEnd(' ').Length < 8, "padding is fewer than 8 spaces");
        using var json = JsonDocument.Parse(header);
        Assert.Equal(new[] { 16L, 28L }, json.RootElement.GetProperty("b.weight").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(8 + headerLength + 28, bytes.Length);
    }

    [Fact]
    public void WriteReplacesAtomicallyAndLeavesNoTemporaryFiles()
    {
        using var folder = new TempFolder();
        using var scope = torch.NewDisposeScope();
        var path = folder.File("m.safetensors");
        File.WriteAllText(path, "old content");

        SafetensorsWriter.Write(path, new Dictionary<string, torch.Tensor> { ["x"] = torch.ones(4) });
        SafetensorsWriter.Write(path, new Dictionary<string, torch.Tensor> { ["y"] = torch.zeros(2) });

        Assert.Equal(new[] { "m.safetensors" }, Directory.GetFiles(folder.Path).Select(Path.GetFileName));
        Assert.Equal(new[] { "y" }, SafetensorsFile.Open(path).Tensors.Keys);
    }

    [Fact]
    public void WriteIntoMissingFolderNamesTheFile()
    {
        using var folder = new TempFolder();
        using var scope = torch.NewDisposeScope();
        var path = Path.Combine(folder.Path, "nope", "m.safetensors");

        var ex = Assert.Throws<CheckpointException>(() => SafetensorsWriter.Write(path, new Dictionary<string, torch.Tensor> { ["x"] = torch.ones(1) }));

        Assert.Contains("m.safetensors", ex.Message, System.StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, System.StringComparison.Ordinal);
    }

    [Fact]
    public void WriterRejectsBadArguments()
    {
        using var folder = new TempFolder();
        using var scope = torch.NewDisposeScope();
        var path = folder.File("bad.safetensors");
        var one = torch.ones(1);

        Assert.Throws<System.ArgumentException>(() => SafetensorsWriter.Write(path, new[] { KeyValuePair.Create("a", one), KeyValuePair.Create("a", one) }));
        Assert.Throws<System.ArgumentException>(() => SafetensorsWriter.Write(path, new[] { KeyValuePair.Create("__metadata__", one) }));
        Assert.Throws<System.ArgumentException>(() => SafetensorsWriter.Write(path, new[] { KeyValuePair.Create("a", one) }, torch.ScalarType.Int32));
        Assert.Throws<System.ArgumentException>(() => SafetensorsWriter.Write(path, new[] { KeyValuePair.Create("c", torch.ones(2, dtype: torch.ScalarType.ComplexFloat32)) }));
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void ReadingDoesNotLeakTensors()
    {
        using var folder = new TempFolder();
        var path = folder.File("leak.safetensors");
        using (var setup = torch.NewDisposeScope())
        {
            SafetensorsWriter.Write(path, new Dictionary<string, torch.Tensor> { ["w"] = torch.ones(64, 64) }, torch.ScalarType.BFloat16);
        }

        var file = SafetensorsFile.Open(path);
        using var scope = torch.NewDisposeScope();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 5; i++)
        {
            using var converted = file.ReadTensor("w", torch.ScalarType.Float32);
            using var raw = file.ReadTensor("w");
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
