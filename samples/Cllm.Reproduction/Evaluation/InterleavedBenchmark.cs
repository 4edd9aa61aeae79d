using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;

namespace Cllm.Reproduction.Evaluation;

/// <summary>
/// Decodes the same requests with several (model, decoder) setups in one process, interleaved request by request
/// with a rotating order, so that machine load drifts hit every setup alike; one warm-up request per setup first
/// (oneDNN builds kernels per shape). Unlike the library's <c>DecoderBenchmark</c> it spans several models, so the
/// CLLM's speed is measured against the base model's autoregressive decoding in the same run.
/// </summary>
public static class InterleavedBenchmark
{
    /// <summary>Per setup (same order as <paramref name="setups"/>), the results of every request in request order.</summary>
    public static IReadOnlyList<IReadOnlyList<DecodeResult>> Run(
        IReadOnlyList<DecodeSetup> setups,
        IReadOnlyList<DecodeRequest> requests,
        Action<int>? onRequest = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(setups);
        ArgumentNullException.ThrowIfNull(requests);
        if (setups.Count == 0 || requests.Count == 0)
        {
            throw new ArgumentException("the benchmark needs at least one setup and one request.");
        }

        var decoders = setups.Select(s => s.Decoder.CreateDecoder(s.Model)).ToArray();
        foreach (var decoder in decoders)
        {
            decoder.DecodeToEnd(requests[0], cancellationToken);
        }

        var results = setups.Select(_ => new DecodeResult[requests.Count]).ToArray();
        for (int r = 0; r < requests.Count; r++)
        {
            for (int k = 0; k < decoders.Length; k++)
            {
                int s = (r + k) % decoders.Length;
                results[s][r] = decoders[s].DecodeToEnd(requests[r], cancellationToken);
            }

            onRequest?.Invoke(r + 1);
        }

        return results;
    }
}
