using System;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.KernelBenchmarks;

/// <summary>
/// One bfloat16 projection call, y (T, N) = x (T, K)·Wᵀ, at TinyLlama's MLP shape (N 5632, K 2048) on 2 threads: Cllm's
/// packed kernel (<c>--quantize bf16</c>) against ATen's product on the layout a float projection keeps (<c>addmm_</c> over
/// Wᵀ (K, N) contiguous, the call of an unquantized bfloat16 model). The weights cycle through 16 copies (369 MB) so that
/// they come from memory, as in a forward. Needs AVX-512 BF16 and libcllm_native.
/// </summary>
[Config(typeof(Int4A8KernelBenchmarks.Settings))]
public unsafe class BFloat16KernelBenchmarks
{
    private const int N = 5632, K = 2048, Copies = 16, MaxTokens = 128;

    private ushort*[] _packed = [];
    private Tensor[] _weightsT = [];
    private ushort* _x;
    private float* _y;
    private Tensor? _xTensor, _yTensor;
    private int _next;

    [Params(1, 4, 16, 33, 64, 128)]
    public int Tokens { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (!BFloat16Kernel.IsSupported)
        {
            throw new PlatformNotSupportedException($"the packed bfloat16 kernel does not run here: {BFloat16Kernel.Missing}");
        }

        torch.set_num_threads(2);
        var random = new Random(1);
        var rows = new float[(long)N * K];
        _packed = new ushort*[Copies];
        _weightsT = new Tensor[Copies];
        for (int c = 0; c < Copies; c++)
        {
            for (long i = 0; i < rows.LongLength; i++)
            {
                rows[i] = (float)((random.NextDouble() * 2) - 1) * 0.05f;
            }

            _packed[c] = (ushort*)NativeMemory.Alloc((nuint)(BFloat16Kernel.PackedLength(N, K) * sizeof(ushort)));
            fixed (float* source = rows)
            {
                BFloat16Kernel.Pack(source, N, K, 0, _packed[c]);
            }

            using var scope = NewDisposeScope();
            _weightsT[c] = tensor(rows).view(N, K).to_type(ScalarType.BFloat16).t().contiguous().DetachFromDisposeScope();   // (K, N)
        }

        _x = (ushort*)NativeMemory.Alloc((nuint)(MaxTokens * K * sizeof(ushort)));
        for (int i = 0; i < MaxTokens * K; i++)
        {
            _x[i] = Int4A8Kernel.ToBFloat16((float)((random.NextDouble() * 2) - 1));
        }

        _y = (float*)NativeMemory.Alloc((nuint)(MaxTokens * N * sizeof(float)));
        using var inputs = NewDisposeScope();
        _xTensor = rand(Tokens, K).to_type(ScalarType.BFloat16).DetachFromDisposeScope();                             // (T, K)
        _yTensor = empty(Tokens, N, dtype: ScalarType.BFloat16).DetachFromDisposeScope();                            // (T, N)
    }

    [Benchmark]
    public void Packed()
    {
        int c = _next++ % Copies;
        BFloat16Kernel.MatMul(_packed[c], _x, new KernelOutput(_y, null, accumulate: false), Tokens, N, K, threads: 2);
    }

    [Benchmark(Baseline = true)]
    public void Aten()
    {
        int c = _next++ % Copies;
        _yTensor!.addmm_(_xTensor!, _weightsT[c], 0, 1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        for (int c = 0; c < Copies; c++)
        {
            NativeMemory.Free(_packed[c]);
            _weightsT[c].Dispose();
        }

        NativeMemory.Free(_x);
        NativeMemory.Free(_y);
        _xTensor?.Dispose();
        _yTensor?.Dispose();
    }
}
