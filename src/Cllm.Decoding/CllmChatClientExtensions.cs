using System;
using Microsoft.Extensions.AI;

namespace Cllm;

/// <summary>Exposes a <see cref="CllmEngine"/> through Microsoft.Extensions.AI; <c>using Cllm;</c> is enough.</summary>
public static class CllmChatClientExtensions
{
    /// <summary>An <see cref="IChatClient"/> over the engine (the engine stays owned by the caller).</summary>
    public static IChatClient AsChatClient(this CllmEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return new CllmChatClient(engine);
    }
}
