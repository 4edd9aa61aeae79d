using System;
using Cllm;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a Cllm engine in a host's service collection and composes its chat client with Microsoft.Extensions.AI.</summary>
public static class CllmServiceCollectionExtensions
{
    /// <summary>
    /// Registers the engine for the checkpoint at <paramref name="checkpointPath"/>, set up by <paramref name="configure"/>
    /// (e.g. <c>b =&gt; b.UseJacobi(16)</c>), as a singleton built on first use with the host's <see cref="ILoggerFactory"/>,
    /// its default <see cref="IDecoder"/>, and an <see cref="IChatClient"/> over it through Microsoft.Extensions.AI's
    /// <c>AddChatClient</c>: the returned <see cref="ChatClientBuilder"/> adds middleware,
    /// e.g. <c>services.AddCllm(path, b =&gt; b.UseJacobi(16)).UseLogging()</c>.
    /// </summary>
    public static ChatClientBuilder AddCllm(this IServiceCollection services, string checkpointPath, Action<CllmBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = CllmBuilder.FromCheckpoint(checkpointPath);
        configure?.Invoke(builder);
        return Register(services, builder);
    }

    /// <summary>
    /// As <see cref="AddCllm(IServiceCollection, string, Action{CllmBuilder}?)"/>, from a builder. The builder's settings are
    /// copied now: <paramref name="builder"/> itself is never changed, and changing it later does not affect the registration.
    /// </summary>
    public static ChatClientBuilder AddCllm(this IServiceCollection services, CllmBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(builder);
        return Register(services, builder.Clone());
    }

    private static ChatClientBuilder Register(IServiceCollection services, CllmBuilder snapshot)
    {
        services.TryAddSingleton(sp =>
        {
            var builder = snapshot.Clone();                                                   // the registration's snapshot stays as registered
            if (sp.GetService(typeof(ILoggerFactory)) is ILoggerFactory loggers)
            {
                builder.WithLoggerFactory(loggers);
            }

            return builder.Build();
        });
        services.TryAddSingleton<IDecoder>(sp => sp.GetRequiredService<CllmEngine>().Decoder);
        return services.AddChatClient(sp => sp.GetRequiredService<CllmEngine>().AsChatClient());
    }
}
