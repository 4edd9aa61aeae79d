using System;
using Microsoft.Extensions.AI;

namespace Cllm.ChatClient;

/// <summary>Exposes a <see cref="CllmEngine"/> through Microsoft.Extensions.AI.</summary>
public static class CllmChatClientExtensions
{
    /// <summary>An <see cref="IChatClient"/> over the engine (the engine stays owned by the caller).</summary>
    public static IChatClient AsChatClient(this CllmEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return new CllmChatClient(engine);
    }
}
