using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Cllm.Core;

namespace Cllm.KernelBenchmarks;

/// <summary>
/// One int4a8 projection call, y (T, N) = x (T, K)·Wᵀ, on every kernel path this machine runs, at TinyLlama's MLP shape
/// (N 5632, K 2048, groups of 128) on 2 threads. The weights cycle through 16 copies (92 MB) so that they come from
/// memory, as in a forward, not from the last-level cache.
/// </summary>
[Config(typeof(Int4A8KernelBenchmarks.Settings))]
public unsafe class Int4A8KernelBenchmarks
{
    private const int N = 5632, K = 2048, GroupSize = 128, Groups = K / GroupSize, Copies = 16, MaxTokens = 16;

    private byte*[] _weights = [];
    private float*[] _scales = [];                  // per copy: scale (N, G) then offset (N, G)
    private sbyte* _xq;
    private float* _sx, _y;
    private int _next;

    /// <summary>One job, in this process (no generated project to build): about a minute for the ten cases (enough warm-up for the JIT's optimised code).</summary>
    public sealed class Settings : ManualConfig
    {
        public Settings()
        {
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance)
                .WithLaunchCount(1).WithWarmupCount(8).WithIterationCount(10).WithInvocationCount(64).WithUnrollFactor(16));
        }
    }

    [ParamsSource(nameof(Paths))]
    public string Path { get; set; } = "";

    [Params(1, 2, 4, 8, 16)]
    public int Tokens { get; set; }

    public static IEnumerable<string> Paths()
        => Enum.GetValues<Int4A8Path>().Where(Int4A8Kernel.Runs).Select(p => p.ToString());

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _weights = new byte*[Copies];
        _scales = new float*[Copies];
        for (int c = 0; c < Copies; c++)
        {
            _weights[c] = (byte*)NativeMemory.Alloc((nuint)((long)N * K / 2));
            random.NextBytes(new Span<byte>(_weights[c], N * K / 2));
            _scales[c] = (float*)NativeMemory.Alloc((nuint)(2L * N * Groups * sizeof(float)));
            for (long i = 0; i < 2L * N * Groups; i++)
            {
                _scales[c][i] = (float)(random.NextDouble() * 0.01);
            }
        }

        var x = (float*)NativeMemory.Alloc((nuint)(MaxTokens * K * sizeof(float)));
        for (int i = 0; i < MaxTokens * K; i++)
        {
            x[i] = (float)(random.NextDouble() * 2 - 1);
        }

        _xq = (sbyte*)NativeMemory.Alloc((nuint)(MaxTokens * K));
        _sx = (float*)NativeMemory.Alloc((nuint)(2 * MaxTokens * Groups * sizeof(float)));   // sx, then u
        Int4A8Kernel.QuantizeActivations(x, MaxTokens, K, GroupSize, _xq, _sx, _sx + MaxTokens * Groups);
        NativeMemory.Free(x);
        _y = (float*)NativeMemory.Alloc((nuint)(MaxTokens * N * sizeof(float)));
    }

    [Benchmark]
    public void MatMul()
    {
        int c = _next++ % Copies;
        Int4A8Kernel.MatMul(_weights[c], _scales[c], _scales[c] + (long)N * Groups, _xq, _sx, _sx + MaxTokens * Groups,
            new KernelOutput(_y, null, accumulate: false), Tokens, N, K, GroupSize, threads: 2, Enum.Parse<Int4A8Path>(Path));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        for (int c = 0; c < Copies; c++)
        {
            NativeMemory.Free(_weights[c]);
            NativeMemory.Free(_scales[c]);
        }

        NativeMemory.Free(_xq);
        NativeMemory.Free(_sx);
        NativeMemory.Free(_y);
    }
}
