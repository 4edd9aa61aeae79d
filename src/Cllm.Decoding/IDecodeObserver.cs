namespace Cllm;

/// <summary>
/// Watches one request of the decode loop (<see cref="DraftVerifyDecoder"/>) without steering it: per-strategy
/// statistics (<see cref="JacobiBlockTracker"/>) and trajectory recording for training are observers. Called
/// on the decoding thread; an observer is created per request.
/// </summary>
public interface IDecodeObserver
{
    /// <summary>After every verification forward, once the proposer has observed it.</summary>
    void OnVerified(VerifyOutcome outcome);

    /// <summary>When the request ends normally (not on cancellation or an early stop of the enumeration), before its last step is emitted.</summary>
    void OnFinished(DecodeStats stats);
}
