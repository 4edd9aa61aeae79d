using System.Threading.Tasks;
using Cllm.CommandLine;

namespace Cllm.Cli;

/// <summary>The <c>cllm</c> executable: the commands live in Cllm.CommandLine.</summary>
internal static class Program
{
    public static Task<int> Main(string[] args) => CommandLineApp.RunAsync(args);
}
