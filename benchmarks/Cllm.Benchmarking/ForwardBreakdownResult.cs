using System.Collections.Generic;

namespace Cllm.Benchmarking;

/// <summary>The breakdown of a T-token forward.</summary>
/// <param name="Tokens">T.</param>
/// <param name="TotalMilliseconds">Median wall time of forward + readback with the profiler off.</param>
/// <param name="ReadbackMilliseconds">Median time of top-2 over the logits and the copy of ids and margins to the host.</param>
/// <param name="OpMilliseconds">Median time per op class per forward, in the forward's order (setup, embedding, norms, …, lm_head; profiler on; medians, so a busy machine's outliers drop out).</param>
/// <param name="MicrosecondsPerTinyOp">Median cost of one add of two 1-element tensors inside a dispose scope.</param>
public sealed record ForwardBreakdownResult(int Tokens, double TotalMilliseconds, double ReadbackMilliseconds, IReadOnlyList<(string Op, double Milliseconds)> OpMilliseconds, double MicrosecondsPerTinyOp);
