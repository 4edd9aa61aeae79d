using System;
using Cllm;
using Cllm.ChatClient;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a Cllm engine in a host's service collection.</summary>
public static class CllmServiceCollectionExtensions
{
    /// <summary>
    /// Registers the engine that <paramref name="builder"/> describes as a singleton (built on first use,
    /// with the host's <see cref="ILoggerFactory"/> when there is one), its default <see cref="IDecoder"/> and an
    /// <see cref="IChatClient"/> over it. To add Microsoft.Extensions.AI middleware, register the client yourself:
    /// <c>services.AddChatClient(sp =&gt; sp.GetRequiredService&lt;CllmEngine&gt;().AsChatClient()).UseLogging()</c>.
    /// </summary>
    public static IServiceCollection AddCllm(this IServiceCollection services, CllmBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(builder);
        services.TryAddSingleton(sp =>
        {
            if (sp.GetService(typeof(ILoggerFactory)) is ILoggerFactory loggers)
            {
                builder.WithLoggerFactory(loggers);
            }

            return builder.Build();
        });
        services.TryAddSingleton<IDecoder>(sp => sp.GetRequiredService<CllmEngine>().Decoder);
        services.TryAddSingleton<IChatClient>(sp => sp.GetRequiredService<CllmEngine>().AsChatClient());
        return services;
    }
}
