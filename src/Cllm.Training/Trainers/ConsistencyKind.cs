namespace Cllm.Training;

/// <summary>Which consistency loss the trainer uses.</summary>
public enum ConsistencyKind
{
    /// <summary>Global consistency: student on y(i) against the teacher on the fixed point (the reference). The default.</summary>
    Global = 0,

    /// <summary>Local consistency: student on y(i) against the teacher on y(i+1).</summary>
    Local,
}
