using System;

namespace Cllm.Reproduction;

/// <summary>Entry point of the text-to-SQL reproduction (pipeline stages arrive with the reproduction issue).</summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("cllm reproduction: not implemented yet.");
        return args.Length == 0 ? 1 : 1;
    }
}
