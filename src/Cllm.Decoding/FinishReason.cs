namespace Cllm;

/// <summary>Why a request stopped producing tokens.</summary>
public enum FinishReason
{
    /// <summary>Still running (only seen on intermediate steps).</summary>
    None = 0,

    /// <summary>An end-of-sequence token was produced (it is not part of the output).</summary>
    Eos,

    /// <summary>The max-new-tokens budget or the model's context was used up.</summary>
    Length,

    /// <summary>A stop sequence was produced (it is not part of the output).</summary>
    Stop,
}
