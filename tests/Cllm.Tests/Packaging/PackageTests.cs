using System;
using System.IO;
using System.Linq;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Packaging;

/// <summary>
/// Packs the libraries, installs the Cllm package into a fresh console app with <c>dotnet add package</c> and runs
/// the README snippets (builder → AsChatClient → GetResponseAsync, then the same through AddCllm, AddLogging and UseLogging).
/// Needs the NuGet registry for the app's other packages.
/// </summary>
public class PackageTests
{
    [SkippableFact]
    public void FreshConsoleAppRunsTheSnippetFromThePackedCllmPackage()
    {
        var root = Reliability.RepositoryCompilations.FindRepositoryRoot();
        using var temp = new TempFolder();
        var source = Directory.CreateDirectory(Path.Combine(temp.Path, "repo")).FullName;
        CopySources(root, source);
        var feed = Path.Combine(temp.Path, "feed");

        // A version of its own per run: the machine's NuGet cache keeps whatever an earlier run packed as the same version.
        string version = TestVersionPrefix + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            PackAndRun(source, feed, temp.Path, version);
        }
        finally
        {
            RemoveFromNuGetCache(version);
        }
    }

    private const string TestVersionPrefix = "0.1.0-test";

    private static readonly string[] Packages = { "Cllm.Core", "Cllm.Decoding", "Cllm.Training", "Cllm" };

    private static void PackAndRun(string source, string feed, string tempPath, string version)
    {
        var minutes = TimeSpan.FromMinutes(5);
        foreach (var project in Packages)
        {
            var (packCode, packOutput) = ProcessRunner.Run("dotnet", $"pack src/{project}/{project}.csproj -c Release -p:Version={version} -o \"{feed}\"", source, minutes);
            Assert.True(packCode == 0, packOutput);
        }

        Assert.Equal(
            new[] { "Cllm.", "Cllm.Core.", "Cllm.Core.", "Cllm.Decoding.", "Cllm.Decoding.", "Cllm.Training.", "Cllm.Training." }
                .Zip(new[] { "nupkg", "nupkg", "snupkg", "nupkg", "snupkg", "nupkg", "snupkg" }, (name, ext) => $"{name}{version}.{ext}"),
            Directory.GetFiles(feed).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));

        var app = Directory.CreateDirectory(Path.Combine(tempPath, "app")).FullName;
        File.WriteAllText(Path.Combine(app, "App.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><Nullable>enable</Nullable><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><add key="local" value="{feed}" /></packageSources></configuration>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), Snippet);
        foreach (var add in new[] { $"add package Cllm --version {version}", "add package libtorch-cpu-linux-x64 --version 2.10.0", "add package Microsoft.Extensions.Logging --version 10.0.0" })
        {
            var (code, output) = ProcessRunner.Run("dotnet", add, app, minutes);
            Assert.True(code == 0, output);
        }

        var (runCode, runOutput) = ProcessRunner.Run("dotnet", $"run -c Release -- \"{ShippedModels.Stories260K}\"", app, minutes);
        Assert.True(runCode == 0, runOutput);
        Assert.Contains("builder: , there was a little girl | 8 tokens", runOutput);
        Assert.Contains("di: , there was a little girl | 8 tokens", runOutput);
    }

    private const string Snippet = """
        using Cllm;
        using Microsoft.Extensions.AI;
        using Microsoft.Extensions.DependencyInjection;

        string path = args[0];
        using (var engine = CllmBuilder.FromCheckpoint(path).UseJacobi(n: 16).Build())
        {
            IChatClient chat = engine.AsChatClient();
            var response = await chat.GetResponseAsync("Once upon a time", new ChatOptions { MaxOutputTokens = 8 });
            Console.WriteLine($"builder: {response.Text} | {response.Usage?.OutputTokenCount} tokens");
        }

        var services = new ServiceCollection();                    // README's DI snippet, as pasted
        services.AddLogging();
        services.AddCllm(path, b => b.UseJacobi(n: 16)).UseLogging();
        using var provider = services.BuildServiceProvider();
        var viaDi = await provider.GetRequiredService<IChatClient>().GetResponseAsync("Once upon a time", new ChatOptions { MaxOutputTokens = 8 });
        Console.WriteLine($"di: {viaDi.Text} | {viaDi.Usage?.OutputTokenCount} tokens");
        """;

    /// <summary>
    /// Removes this run's packages from the machine's NuGet cache (each run adds ~1.5 MB under a version of its own), and
    /// those a run more than a day ago left (one that crashed before cleaning up); a run under way elsewhere keeps its own.
    /// </summary>
    private static void RemoveFromNuGetCache(string version)
    {
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var package in Packages)
        {
            var folder = new DirectoryInfo(Path.Combine(cache, package.ToLowerInvariant()));
            if (!folder.Exists)
            {
                continue;
            }

            foreach (var installed in folder.EnumerateDirectories(TestVersionPrefix + "*"))
            {
                if (installed.Name == version || installed.LastWriteTimeUtc < DateTime.UtcNow.AddDays(-1))
                {
                    try
                    {
                        installed.Delete(recursive: true);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                    }
                }
            }
        }
    }

    /// <summary>Copies what packing needs (src/, build/, the root build files) without bin/ and obj/.</summary>
    private static void CopySources(string root, string target)
    {
        foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "global.json", "LICENSE" })
        {
            File.Copy(Path.Combine(root, file), Path.Combine(target, file));
        }

        foreach (var folder in new[] { "src", "build" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, folder), "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(root, file);
                var parts = relative.Split(Path.DirectorySeparatorChar);
                if (parts.Contains("bin") || parts.Contains("obj"))
                {
                    continue;
                }

                var destination = Path.Combine(target, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                File.Copy(file, destination);
            }
        }
    }
}
