using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Cllm.Benchmarks;

/// <summary>
/// Greedy autoregressive decoding with llama.cpp through LLamaSharp, on token ids (no tokenizer in the loop): the
/// prompt in one batch, then one token per decode. F32 KV cache and no flash attention, so on F32 weights it computes
/// what Cllm computes and greedy ids agree (any GGUF type loads; quantized ones compute in llama.cpp's own precision).
/// </summary>
internal sealed class LlamaSharpGreedy : IDisposable
{
    private static bool _quiet;
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly LLamaBatch _batch = new();

    public LlamaSharpGreedy(string ggufPath, int threads, int contextSize)
    {
        QuietLogs();
        var parameters = Parameters(ggufPath, threads, contextSize, contextSize);
        _weights = LLamaWeights.LoadFromFile(parameters);
        _context = _weights.CreateContext(parameters);
        VocabSize = _weights.Vocab.Count;
    }

    public int VocabSize { get; }

    /// <summary>
    /// CPU, F32 KV cache and no flash attention, so that on F32 weights llama.cpp computes what Cllm computes; a context
    /// of <paramref name="contextSize"/> positions shared by <paramref name="sequences"/> sequences, decoded in batches of up to
    /// the whole context (micro-batches of at most <paramref name="microBatchSize"/> tokens).
    /// </summary>
    internal static ModelParams Parameters(string ggufPath, int threads, int contextSize, int microBatchSize, int sequences = 1) => new(ggufPath)
    {
        ContextSize = (uint)contextSize,
        SeqMax = (uint)sequences,
        BatchSize = (uint)contextSize,
        UBatchSize = (uint)microBatchSize,
        Threads = threads,
        BatchThreads = threads,
        GpuLayerCount = 0,
        TypeK = GGMLType.GGML_TYPE_F32,
        TypeV = GGMLType.GGML_TYPE_F32,
        FlashAttention = false,
    };

    /// <summary>Routes llama.cpp's log to stderr, errors only (once per process; before the native library's first use).</summary>
    public static void QuietLogs()
    {
        if (_quiet)
        {
            return;
        }

        NativeLogConfig.llama_log_set((level, message) =>
        {
            if (level == LLamaLogLevel.Error)
            {
                Console.Error.Write("llama.cpp: " + message);
            }
        });
        _quiet = true;
    }

    /// <summary>
    /// Decodes up to <paramref name="maxNewTokens"/> greedy tokens after <paramref name="promptIds"/>; an id in
    /// <paramref name="eosIds"/> ends it (and is not returned). <c>Prefill</c> is the time to the first token (the prompt's
    /// decode and its argmax), which emits one token (none when it is an EOS id).
    /// </summary>
    public (int[] Ids, TimeSpan Elapsed, TimeSpan Prefill, int Forwards) Decode(IReadOnlyList<int> promptIds, int maxNewTokens, IReadOnlyList<int> eosIds)
    {
        var clock = Stopwatch.StartNew();
        _context.NativeHandle.MemoryClear(true);
        _batch.Clear();
        for (int i = 0; i < promptIds.Count; i++)
        {
            _batch.Add((LLamaToken)promptIds[i], (LLamaPos)i, (LLamaSeqId)0, i == promptIds.Count - 1);
        }

        var output = new List<int>();
        int forwards = 0, position = promptIds.Count;
        var prefill = TimeSpan.Zero;
        while (true)
        {
            var status = _context.Decode(_batch);
            if (status != LLama.Native.DecodeResult.Ok)
            {
                throw new InvalidOperationException($"llama.cpp decode failed: {status}.");
            }

            forwards++;
            int next = ArgMax(_context.NativeHandle.GetLogitsIth(_batch.TokenCount - 1));
            if (forwards == 1)
            {
                prefill = clock.Elapsed;
            }

            if (eosIds.Contains(next))
            {
                break;
            }

            output.Add(next);
            if (output.Count >= maxNewTokens)
            {
                break;
            }

            _batch.Clear();
            _batch.Add((LLamaToken)next, (LLamaPos)position++, (LLamaSeqId)0, true);
        }

        return (output.ToArray(), clock.Elapsed, prefill, forwards);
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }

    /// <summary>First index of the largest logit (ties go to the lower id, as torch.argmax does on CPU).</summary>
    internal static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }
}
