using System;
using System.Linq;
using Cllm;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers a Cllm engine in a host's service collection and composes its chat client with Microsoft.Extensions.AI:
/// one unkeyed model with <c>AddCllm</c>, any number of models under their own keys with <c>AddKeyedCllm</c>.
/// </summary>
public static class CllmServiceCollectionExtensions
{
    /// <summary>
    /// Registers the engine for the checkpoint at <paramref name="checkpointPath"/>, set up by <paramref name="configure"/>
    /// (e.g. <c>b =&gt; b.UseJacobi(16)</c>), as a singleton built on first use with the host's <see cref="ILoggerFactory"/>,
    /// its default <see cref="IDecoder"/>, and an <see cref="IChatClient"/> over it through Microsoft.Extensions.AI's
    /// <c>AddChatClient</c>: the returned <see cref="ChatClientBuilder"/> adds middleware,
    /// e.g. <c>services.AddCllm(path, b =&gt; b.UseJacobi(16)).UseLogging()</c>. A collection serves one unkeyed model:
    /// a second call throws <see cref="InvalidOperationException"/> (use <see cref="AddKeyedCllm(IServiceCollection, object, string, Action{CllmBuilder}?)"/>
    /// for several models).
    /// </summary>
    public static ChatClientBuilder AddCllm(this IServiceCollection services, string checkpointPath, Action<CllmBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = CllmBuilder.FromCheckpoint(checkpointPath);
        configure?.Invoke(builder);
        return Register(services, null, builder);
    }

    /// <summary>
    /// As <see cref="AddCllm(IServiceCollection, string, Action{CllmBuilder}?)"/>, from a builder. The builder's settings are
    /// copied now: <paramref name="builder"/> itself is never changed, and changing it later does not affect the registration.
    /// </summary>
    public static ChatClientBuilder AddCllm(this IServiceCollection services, CllmBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(builder);
        return Register(services, null, builder.Clone());
    }

    /// <summary>
    /// As <see cref="AddCllm(IServiceCollection, string, Action{CllmBuilder}?)"/>, under <paramref name="serviceKey"/>: a keyed
    /// <see cref="CllmEngine"/>, a keyed <see cref="IDecoder"/> and a keyed <see cref="IChatClient"/> through Microsoft.Extensions.AI's
    /// <c>AddKeyedChatClient</c> (resolve with <c>GetRequiredKeyedService&lt;IChatClient&gt;(key)</c> or <c>[FromKeyedServices(key)]</c>),
    /// so one host serves several models. A second registration under the same key throws <see cref="InvalidOperationException"/>.
    /// </summary>
    public static ChatClientBuilder AddKeyedCllm(this IServiceCollection services, object serviceKey, string checkpointPath, Action<CllmBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(serviceKey);
        var builder = CllmBuilder.FromCheckpoint(checkpointPath);
        configure?.Invoke(builder);
        return Register(services, serviceKey, builder);
    }

    /// <summary>As <see cref="AddKeyedCllm(IServiceCollection, object, string, Action{CllmBuilder}?)"/>, from a builder (copied now, as <see cref="AddCllm(IServiceCollection, CllmBuilder)"/> does).</summary>
    public static ChatClientBuilder AddKeyedCllm(this IServiceCollection services, object serviceKey, CllmBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(serviceKey);
        ArgumentNullException.ThrowIfNull(builder);
        return Register(services, serviceKey, builder.Clone());
    }

    /// <summary>The engine (built on first use), its decoder and its chat client, unkeyed when <paramref name="key"/> is null.</summary>
    private static ChatClientBuilder Register(IServiceCollection services, object? key, CllmBuilder snapshot)
    {
        if (services.Any(d => d.ServiceType == typeof(CllmEngine) && Equals(d.ServiceKey, key)))
        {
            string which = key is null ? "AddCllm" : $"AddKeyedCllm with the key '{key}'";
            string earlier = services.Where(d => !d.IsKeyedService).Select(d => d.ImplementationInstance).OfType<Registration>()
                .FirstOrDefault(r => Equals(r.Key, key)) is { } registration
                ? $"{which} was already called on this service collection (for {registration.CheckpointPath})"
                : $"a {nameof(CllmEngine)} is already registered {(key is null ? "without a key" : $"under the key '{key}'")}";
            throw new InvalidOperationException(
                $"{earlier}; a second registration would be ignored and the first model served. " +
                "Register each model once; to serve several models, give each its own key with AddKeyedCllm(serviceKey, ...).");
        }

        services.AddSingleton(new Registration(key, snapshot.CheckpointPath));
        if (key is null)
        {
            services.AddSingleton(sp => Build(sp, snapshot));
            services.AddSingleton<IDecoder>(sp => sp.GetRequiredService<CllmEngine>().Decoder);
            return services.AddChatClient(sp => sp.GetRequiredService<CllmEngine>().AsChatClient());
        }

        services.AddKeyedSingleton(key, (sp, k) => Build(sp, snapshot));
        services.AddKeyedSingleton<IDecoder>(key, (sp, k) => sp.GetRequiredKeyedService<CllmEngine>(k).Decoder);
        return services.AddKeyedChatClient(key, sp => sp.GetRequiredKeyedService<CllmEngine>(key).AsChatClient());
    }

    /// <summary>The engine of a registration: its own copy of the snapshot (which stays as registered), with the host's loggers.</summary>
    private static CllmEngine Build(IServiceProvider services, CllmBuilder snapshot)
    {
        var builder = snapshot.Clone();
        if (services.GetService(typeof(ILoggerFactory)) is ILoggerFactory loggers)
        {
            builder.WithLoggerFactory(loggers);
        }

        return builder.Build();
    }

    /// <summary>What was registered under a key (null: unkeyed), for the error on a second registration.</summary>
    private sealed record Registration(object? Key, string CheckpointPath);
}
