namespace Cllm;

/// <summary>
/// What one forward verified for one session: the accepted draft nodes in order (<paramref name="Path"/>), the model's own
/// token after them (<paramref name="Bonus"/>), its greedy prediction at the pending token and at every draft node
/// (<paramref name="Predictions"/>), and the smallest top-2 logit margin among the positions that chose emitted tokens.
/// </summary>
internal readonly record struct VerifiedStep(int[] Path, int Bonus, int[] Predictions, double MinMargin);
