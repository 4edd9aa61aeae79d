using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Cllm.CommandLine;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Cli;

/// <summary>What bench and init tell a user while and after they work: progress per measured request, sizes in a readable unit.</summary>
[Collection("Console")]
public class BenchAndInitOutputTests
{
    [Fact]
    public async Task BenchReportsTheWarmUpAndEachMeasuredRequestOnStderr()
    {
        var (code, error) = await CliRunner.Run("bench", "--model", "random:260k", "--decoders", "ar,jacobi:4", "--requests", "2", "--max-new-tokens", "4", "--curve", "1", "--threads", "1");
        Assert.True(code == 0, error);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains(lines, l => l.StartsWith("measuring the forward cost at T = 1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("warming up 2 decoders on one request each (not measured), then 4 measured requests", StringComparison.Ordinal));
        var progress = lines.Where(l => l.StartsWith('[')).ToList();
        Assert.Equal(new[] { "[1/4]", "[2/4]", "[3/4]", "[4/4]" }, progress.Select(l => l.Split(' ')[0]));
        Assert.Equal(2, progress.Count(l => l.Contains(" ar request ", StringComparison.Ordinal)));
        Assert.Equal(2, progress.Count(l => l.Contains(" jacobi:4 request ", StringComparison.Ordinal)));
        Assert.All(progress, l => Assert.Contains("4 tokens in ", l));
    }

    [Fact]
    public async Task BenchWithManyRequestsReportsEveryTwentiethAndTheLast()
    {
        var (code, error) = await CliRunner.Run("bench", "--model", "random:260k", "--decoders", "ar,jacobi:4", "--requests", "21", "--max-new-tokens", "2", "--curve", "", "--threads", "1");
        Assert.True(code == 0, error);
        var progress = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('[')).Select(l => l.Split(' ')[0]).ToList();
        Assert.Equal(Enumerable.Range(1, 14).Select(i => $"[{3 * i}/42]"), progress);             // 42 requests: every third, the last included
    }

    [Fact]
    public async Task InitPrintsTheWeightSizeInAReadableUnit()
    {
        using var temp = new TempFolder();
        string folder = temp.File("m");
        var (code, error) = await CliRunner.Run("dev", "init", "--shape", "260k", "--output", folder);
        Assert.True(code == 0, error);
        long bytes = new FileInfo(Path.Combine(folder, "model.safetensors")).Length;
        Assert.InRange(bytes, 1_000_000, 1_100_000);                                              // 260,032 float32 parameters and a header
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"Float32, {bytes / 1e6:F1} MB of weights"), error, StringComparison.Ordinal);
        Assert.DoesNotContain("GB", error);
    }

    [Fact]
    public async Task InitTakesANegativeSeedAndGrowPrintsAReadableUnit()
    {
        using var temp = new TempFolder();
        string small = temp.File("m"), grown = temp.File("g");
        var (code, error) = await CliRunner.Run("dev", "init", "--shape", "260k", "--output", small, "--seed", "-1");
        Assert.True(code == 0, error);
        (code, error) = await CliRunner.Run("grow", "--model", small, "--shape", "128x6", "--output", grown);
        Assert.True(code == 0, error);
        Assert.Contains(" MB of weights", error, StringComparison.Ordinal);
        Assert.DoesNotContain("GB", error);
        Assert.Equal(new[] { "g", "m" }, Directory.GetFileSystemEntries(temp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));   // no .partial left
    }

    [Fact]
    public void ANewFolderIsWrittenWholeOrNotAtAll()
    {
        using var temp = new TempFolder();
        string folder = temp.File("out");
        Directory.CreateDirectory(folder);                                                         // empty, as --output may name it

        Assert.Throws<IOException>(() => OutputPaths.WriteFolder(folder, partial =>
        {
            Directory.CreateDirectory(partial);
            File.WriteAllText(Path.Combine(partial, "config.json"), "{}");
            throw new IOException("disk full");                                                    // halfway through the weights
        }));
        Assert.Empty(Directory.GetFileSystemEntries(folder));                                      // a rerun is not refused
        Assert.Equal(new[] { "out" }, Directory.GetFileSystemEntries(temp.Path).Select(Path.GetFileName));

        OutputPaths.WriteFolder(folder, partial =>
        {
            Directory.CreateDirectory(Path.Combine(partial, "sub"));
            File.WriteAllText(Path.Combine(partial, "config.json"), "{}");
        });
        Assert.Equal(new[] { "config.json", "sub" }, Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(new[] { "out" }, Directory.GetFileSystemEntries(temp.Path).Select(Path.GetFileName));

        // A target this call creates is removed again on failure.
        string fresh = temp.File("fresh");
        Assert.Throws<IOException>(() => OutputPaths.WriteFolder(fresh, _ => throw new IOException("disk full")));
        Assert.False(Directory.Exists(fresh));

        // What a killed process leaves (its hidden folder) is cleared by the next check; anything else is kept and refused.
        string interrupted = temp.File("interrupted");
        Directory.CreateDirectory(Path.Combine(interrupted, OutputPaths.PartialPrefix + "0123", "half"));
        Assert.True(OutputPaths.ClearInterruptedWrites(interrupted));
        Assert.Empty(Directory.GetFileSystemEntries(interrupted));
        Assert.False(OutputPaths.ClearInterruptedWrites(folder));
        Assert.Equal(2, Directory.GetFileSystemEntries(folder).Length);
    }

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(812, "812 B")]
    [InlineData(1_140, "1.1 kB")]
    [InlineData(999_949, "999.9 kB")]
    [InlineData(1_040_187, "1.0 MB")]
    [InlineData(4_400_000_000, "4.40 GB")]
    public void ByteSizesUseTheUnitThatFits(long bytes, string expected)
    {
        Assert.Equal(expected, ByteSize.Format(bytes));
    }
}
