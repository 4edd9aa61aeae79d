namespace Cllm.Benchmarking;

/// <summary>One decoded request of a benchmark.</summary>
/// <param name="Model">Model label (<see cref="BenchmarkModel.Label"/>).</param>
/// <param name="Decoder">Decoder label (ar, jacobi:16, lookahead:5x4x5).</param>
/// <param name="Request">Index of the request.</param>
/// <param name="Result">Tokens and statistics.</param>
public sealed record BenchmarkOutcome(string Model, string Decoder, int Request, DecodeResult Result);
