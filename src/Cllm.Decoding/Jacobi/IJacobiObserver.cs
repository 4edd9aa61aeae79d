namespace Cllm.Jacobi;

/// <summary>Receives every Jacobi block's trajectory as the decoder finishes it (trajectory collection uses this).</summary>
public interface IJacobiObserver
{
    /// <summary>Called once per block, in order, on the decoding thread.</summary>
    void OnBlock(JacobiTrajectory trajectory);
}
