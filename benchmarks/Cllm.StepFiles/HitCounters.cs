using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace Cllm.StepFiles;

/// <summary>
/// coverlet's per-module hit counters: each instrumented assembly gets a static class in namespace
/// <c>Coverlet.Core.Instrumentation.Tracker</c> whose <c>int[] HitsArray</c> counts the hits of each instrumented
/// location; coverlet writes that array out when the test session ends. Only the arrays' contents are changed here.
/// </summary>
internal sealed class HitCounters
{
    private const string TrackerNamespace = "Coverlet.Core.Instrumentation.Tracker";

    private readonly IReadOnlyList<FieldInfo> _fields;

    private HitCounters(IReadOnlyList<FieldInfo> fields) => _fields = fields;

    /// <summary>The counters of Cllm.Core, Cllm.Decoding and Cllm.Training; fails when they are not instrumented.</summary>
    public static HitCounters Find()
    {
        var assemblies = new[] { typeof(Cllm.Core.LlamaForCausalLM).Assembly, typeof(IDecoder).Assembly, typeof(Cllm.Training.ConsistencyTrainer).Assembly };
        var fields = new List<FieldInfo>();
        foreach (var assembly in assemblies)
        {
            var field = Types(assembly)
                .Where(t => t.Namespace == TrackerNamespace)
                .Select(t => t.GetField("HitsArray", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
                .SingleOrDefault(f => f is not null && f.FieldType == typeof(int[]));
            if (field is null)
            {
                throw new InvalidOperationException($"{assembly.GetName().Name} is not instrumented by coverlet: run under `dotnet test --collect \"XPlat Code Coverage\"` (benchmarks/CountStepFiles.cs does)");
            }

            fields.Add(field);
        }

        return new HitCounters(fields);
    }

    /// <summary>Sets every counter to 0.</summary>
    public void Zero()
    {
        foreach (var array in Arrays())
        {
            Array.Clear(array);
        }
    }

    /// <summary>A copy of every counter.</summary>
    public int[][] Snapshot() => Arrays().Select(a => (int[])a.Clone()).ToArray();

    /// <summary>Writes <paramref name="snapshot"/> back into the counters.</summary>
    public void Restore(int[][] snapshot)
    {
        var arrays = Arrays().ToArray();
        for (int i = 0; i < arrays.Length; i++)
        {
            Array.Copy(snapshot[i], arrays[i], arrays[i].Length);
        }
    }

    private IEnumerable<int[]> Arrays()
        => _fields.Select(f => (int[])(f.GetValue(null) ?? throw new InvalidOperationException($"{f.DeclaringType} has no hit array")));

    private static IEnumerable<Type> Types(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.OfType<Type>();
        }
    }
}
