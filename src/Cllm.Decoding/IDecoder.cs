using System.Collections.Generic;
using System.Threading;

namespace Cllm;

/// <summary>
/// A decoding strategy over one model. Synchronous and streaming: each element is one forward pass
/// and the tokens it emitted. Tensor work happens on the enumerating thread; enumerate it on one
/// thread, one request at a time per decoder.
/// </summary>
public interface IDecoder
{
    /// <summary>A short name for reports: ar, jacobi, lookahead.</summary>
    string Name { get; }

    /// <summary>Decodes <paramref name="request"/>, yielding a step per forward pass.</summary>
    IEnumerable<DecodeStep> Decode(DecodeRequest request, CancellationToken cancellationToken = default);
}
