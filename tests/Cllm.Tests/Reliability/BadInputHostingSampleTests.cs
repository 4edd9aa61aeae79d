using System;
using System.IO;
using System.Linq;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Reliability;

/// <summary>The Hosting sample without a model prints one line and exits 1 (it used to print a DI stack trace and abort).</summary>
public class BadInputHostingSampleTests
{
    [Fact]
    public void TheHostingSampleWithoutAModelPrintsOneLineAndExits1()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Cllm.sln")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        using var temp = new TempFolder();
        string missing = temp.File("no-model");
        var (code, output) = ProcessRunner.Run(
            "dotnet", $"run --project samples/Cllm.Samples.Hosting -c Release -- \"{missing}\"", root.FullName, TimeSpan.FromMinutes(10));

        Assert.True(code == 1, $"exit {code}:\n{output}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        Assert.Equal($"error: {missing}: model folder not found", line);
    }
}
