using System;
using System.Collections.Generic;
using System.Threading;

namespace Cllm;

/// <summary>
/// A decoder of an engine: its requests run on the engine's decode thread, batched with every other request of the
/// engine (<see cref="CllmEngine.Run"/>), whichever thread calls <see cref="Decode"/>. What <see cref="CllmEngine.Decoder"/>,
/// <see cref="CllmEngine.CreateDecoder"/> and the DI-registered <see cref="IDecoder"/> return.
/// </summary>
internal sealed class EngineDecoder : IDecoder
{
    private readonly CllmEngine _engine;
    private readonly DecoderOptions? _options;

    /// <param name="engine">The engine.</param>
    /// <param name="options">The decoder's settings; null for the engine's default decoder.</param>
    /// <param name="name">Its name (ar, jacobi:16, …).</param>
    public EngineDecoder(CllmEngine engine, DecoderOptions? options, string name)
    {
        _engine = engine;
        _options = options;
        Name = name;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IEnumerable<DecodeStep> Decode(DecodeRequest request, CancellationToken cancellationToken = default)
    {
        var resolved = _engine.Resolve(request);                                             // bad input fails at the call, checked once
        return Run();

        IEnumerable<DecodeStep> Run()
        {
            foreach (var step in _engine.Stream(resolved, _options, cancellationToken))      // submitted when first enumerated
            {
                yield return step;
            }
        }
    }
}
