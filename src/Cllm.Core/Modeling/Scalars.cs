using TorchSharp;

namespace Cllm.Core;

/// <summary>
/// libtorch scalars that live as long as the process. TorchSharp turns C# numbers into <see cref="Scalar"/>s
/// implicitly and nothing keeps such a temporary alive during the native call that reads it, so the GC's finalizer
/// thread may free it mid-call (seen as random libtorch asserts and wrong numbers under GC pressure). Library code
/// therefore passes these static scalars, or values it owns with <c>using var s = x.ToScalar();</c>; the build bans the
/// implicit conversions (build/BannedSymbols.txt). Statics are always reachable, so they are never finalized.
/// </summary>
internal static class Scalars
{
    public static readonly Scalar Zero = 0.ToScalar();
    public static readonly Scalar One = 1.ToScalar();
    public static readonly Scalar Two = 2.ToScalar();
    public static readonly Scalar MinusOne = (-1).ToScalar();
    public static readonly Scalar NegativeInfinity = float.NegativeInfinity.ToScalar();
}
