using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Packaging;

/// <summary>
/// A local pack is versioned 0.1.0-dev.&lt;UTC write time of the newest file under src/ and build/ and of the root build
/// files&gt; (Directory.Build.props/targets), the same for every package of a checkout, so NuGet's cache cannot serve
/// a stale build under an old version; an explicit -p:Version wins.
/// </summary>
public class PackageVersionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public void LocalPacksAreVersionedByTheNewestSourceFile()
    {
        string root = ShippedModels.RepositoryRoot;
        string core = PackageVersion(root, "src/Cllm.Core/Cllm.Core.csproj");
        string meta = PackageVersion(root, "src/Cllm/Cllm.csproj");

        Assert.Equal(core, meta);
        Assert.Matches(@"^0\.1\.0-dev\.\d{14}$", core);
        string newest = NewestWriteTime(root).ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        Assert.Equal($"0.1.0-dev.{newest}", core);
    }

    [Fact]
    public void AnExplicitVersionWins()
        => Assert.Equal("1.2.3-rc.1", PackageVersion(root: ShippedModels.RepositoryRoot, "src/Cllm.Decoding/Cllm.Decoding.csproj", "-p:Version=1.2.3-rc.1"));

    /// <summary>The PackageVersion a pack of <paramref name="project"/> would use (the version target run, nothing built).</summary>
    private static string PackageVersion(string root, string project, string extra = "")
    {
        var (code, output) = ProcessRunner.Run("dotnet", $"msbuild {project} -nologo -t:CllmPackageVersion -getProperty:PackageVersion {extra}", root, Timeout);
        Assert.True(code == 0, output);
        return output.Trim().Split('\n').Last().Trim();
    }

    private static DateTime NewestWriteTime(string root)
    {
        var sources = new[] { "src", "build" }
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(root, folder), "*", SearchOption.AllDirectories))
            .Where(file => !Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"));
        var buildFiles = Directory.EnumerateFiles(root, "Directory.*.props").Append(Path.Combine(root, "Directory.Build.targets"));
        return sources.Concat(buildFiles).Max(File.GetLastWriteTimeUtc);
    }
}
