using System;
using System.Collections.Generic;
using System.Threading;

namespace Cllm;

/// <summary>Conveniences over <see cref="IDecoder"/>.</summary>
public static class DecoderExtensions
{
    /// <summary>Runs <paramref name="request"/> to the end and collects its tokens.</summary>
    public static DecodeResult DecodeToEnd(this IDecoder decoder, DecodeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        var output = new List<int>();
        foreach (var step in decoder.Decode(request, cancellationToken))
        {
            output.AddRange(step.Tokens);
            if (step.Stats is not null)
            {
                return new DecodeResult(output, step.Finish, step.Stats) { PromptIds = request.PromptIds };
            }
        }

        throw new InvalidOperationException($"decoder '{decoder.Name}' ended without a final step.");
    }
}
