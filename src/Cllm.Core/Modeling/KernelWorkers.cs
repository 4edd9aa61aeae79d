using System;
using System.Threading.Tasks;

namespace Cllm.Core;

/// <summary>How the CPU kernels (<see cref="Int4A8Kernel"/>, <see cref="BFloat16Kernel"/>) share one call's outputs among workers of their own.</summary>
internal static class KernelWorkers
{
    /// <summary>Below this many weights (N·K) a call runs on the calling thread: splitting it costs more than it saves.</summary>
    private const long ParallelThreshold = 1 << 20;

    /// <summary>
    /// Runs <paramref name="range"/> over [0, <paramref name="count"/>) of a call over <paramref name="weights"/> weights on
    /// up to <paramref name="threads"/> workers: four chunks per worker, taken as workers come free (a worker that starts
    /// late, on a busy core, takes fewer), each a multiple of <paramref name="align"/> but the last; one worker, or a call
    /// below <see cref="ParallelThreshold"/> weights, runs the whole range on the calling thread.
    /// </summary>
    public static void For(int count, int align, long weights, int threads, Action<int, int> range)
    {
        int workers = weights < ParallelThreshold ? 1 : Math.Max(1, threads);
        if (workers <= 1)
        {
            range(0, count);
            return;
        }

        int chunks = 4 * workers, perChunk = ((count + chunks - 1) / chunks + align - 1) / align * align;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = workers },
            i => range(Math.Min(count, i * perChunk), Math.Min(count, (i + 1) * perChunk)));
    }
}
