using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cllm.Tests.Decoding;

public class BuilderAndDependencyInjectionTests
{
    [SkippableFact]
    public void BuilderConfiguresTheDecoder()
    {
        using var jacobi = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseJacobi(n: 16).Build();
        Assert.Equal(16, Assert.IsType<JacobiOptions>(jacobi.DecoderOptions).BlockSize);
        Assert.Equal("jacobi:16", jacobi.Decoder.Name);
        Assert.Equal(new[] { 2 }, jacobi.EosTokenIds);
        Assert.Equal(260_032, jacobi.Model.parameters().Sum(p => p.numel()));

        using var lookahead = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseLookahead(window: 7, ngram: 5, guesses: 3).Build();
        Assert.Equal("lookahead:7x5x3", lookahead.Decoder.Name);
    }

    [Fact]
    public void InvalidOptionsFailAtTheCall()
    {
        var builder = CllmBuilder.FromCheckpoint("anywhere");
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.UseJacobi(n: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.UseLookahead(window: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.UseLookahead(ngram: 2));
        Assert.Throws<ArgumentException>(() => CllmBuilder.FromCheckpoint(" "));
        Assert.Throws<FormatException>(() => DecoderOptions.Parse("beam"));
        Assert.Throws<FormatException>(() => DecoderOptions.Parse("lookahead:5x4"));
    }

    [Fact]
    public void MissingCheckpointIsAClearError()
    {
        using var temp = new TempFolder();
        var ex = Assert.Throws<CheckpointException>(() => CllmBuilder.FromCheckpoint(temp.File("nope")).Build());
        Assert.Contains("nope", ex.Message);
        File.WriteAllText(temp.File("config.json"), "{ \"model_type\": \"gpt2\" }");
        ex = Assert.Throws<CheckpointException>(() => CllmBuilder.FromCheckpoint(temp.Path).Build());
        Assert.Contains("safetensors", ex.Message);                                            // no weights in the folder
        File.WriteAllBytes(temp.File("model.safetensors"), new byte[16]);
        ex = Assert.Throws<CheckpointException>(() => CllmBuilder.FromCheckpoint(temp.Path).Build());
        Assert.Contains("config.json", ex.Message);
        Assert.Contains("gpt2", ex.Message);                                                   // unknown model_type, named
    }

    [SkippableFact]
    public void PromptLongerThanTheContextIsAClearError()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).Build();
        var longPrompt = string.Join(" ", System.Linq.Enumerable.Repeat("Once upon a time", 200));
        var ex = Assert.Throws<ArgumentException>(() => engine.Generate(longPrompt));
        Assert.Contains("context", ex.Message);
    }

    [SkippableFact]
    public void AddCllmRegistersTheEngineAndItsDecoder()
    {
        var logs = new ListLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddCllm(CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseJacobi(n: 8));
        using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<CllmEngine>();
        Assert.Same(engine, provider.GetRequiredService<CllmEngine>());
        Assert.Same(engine.Decoder, provider.GetRequiredService<IDecoder>());
        var response = engine.Generate("Once upon a time", new GenerationOptions { MaxNewTokens = 20 });
        Assert.Equal(20, response.OutputIds.Count);
        Assert.Contains(logs.Messages, m => m.Contains("Loaded llama model", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Contains("jacobi:8", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void AddCllmComposesWithTheChatClientPipelineAndLeavesTheCallersBuilderAlone()
    {
        var logs = new ListLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var callers = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseJacobi(n: 8);
        ChatClientBuilder pipeline = services.AddCllm(callers);
        pipeline.UseLogging();
        callers.UseAutoregressive();                                                             // after registering: no effect on it
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IChatClient>();
        Assert.NotNull(client.GetService<LoggingChatClient>());                                   // the middleware is in the pipeline
        var engine = provider.GetRequiredService<CllmEngine>();
        Assert.Same(engine, client.GetService<CllmEngine>());
        Assert.Equal("jacobi:8", engine.Decoder.Name);
        Assert.Equal("ar", callers.Decoder.Label);

        var byPath = new ServiceCollection();
        byPath.AddCllm(ShippedModels.Stories260K, b => b.UseLookahead()).UseLogging(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        using var second = byPath.BuildServiceProvider();
        Assert.Equal("lookahead:5x4x5", second.GetRequiredService<IChatClient>().GetService<CllmEngine>()!.Decoder.Name);
    }

    [Fact]
    public void ASecondAddCllmThrowsInsteadOfServingTheFirstModel()
    {
        var services = new ServiceCollection();
        services.AddCllm("first-model");
        var ex = Assert.Throws<InvalidOperationException>(() => services.AddCllm("second-model", b => b.UseJacobi(8)));
        Assert.Contains("AddCllm was already called", ex.Message);
        Assert.Contains("first-model", ex.Message);
        Assert.Contains("AddKeyedCllm", ex.Message);
        Assert.Throws<InvalidOperationException>(() => services.AddCllm(CllmBuilder.FromCheckpoint("second-model")));
        Assert.Single(services, d => d.ServiceType == typeof(CllmEngine));                   // nothing of the refused call was registered

        services.AddKeyedCllm("a", "model-a");                                                // keys are separate registrations
        var keyed = Assert.Throws<InvalidOperationException>(() => services.AddKeyedCllm("a", CllmBuilder.FromCheckpoint("model-b")));
        Assert.Contains("'a'", keyed.Message);
        Assert.Contains("model-a", keyed.Message);

        var own = new ServiceCollection();
        own.AddSingleton<CllmEngine>(_ => throw new InvalidOperationException("not built"));
        Assert.Contains("already registered without a key", Assert.Throws<InvalidOperationException>(() => own.AddCllm("m")).Message);
    }

    [SkippableFact]
    public async Task AddKeyedCllmServesTwoModelsSideBySide()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddKeyedCllm("jacobi", ShippedModels.Stories260K, b => b.UseJacobi(n: 8)).UseLogging();
        services.AddKeyedCllm("ar", CllmBuilder.FromCheckpoint(ShippedModels.Stories260K));
        using var provider = services.BuildServiceProvider();
        Assert.Null(provider.GetService<CllmEngine>());                                         // keyed only: no unkeyed model to pick by accident
        Assert.Null(provider.GetService<IChatClient>());

        var jacobi = provider.GetRequiredKeyedService<CllmEngine>("jacobi");
        var ar = provider.GetRequiredKeyedService<CllmEngine>("ar");
        Assert.NotSame(jacobi, ar);
        Assert.Same(jacobi, provider.GetRequiredKeyedService<CllmEngine>("jacobi"));
        Assert.Equal("jacobi:8", jacobi.Decoder.Name);
        Assert.Same(jacobi.Decoder, provider.GetRequiredKeyedService<IDecoder>("jacobi"));
        Assert.Same(ar.Decoder, provider.GetRequiredKeyedService<IDecoder>("ar"));

        var jacobiClient = provider.GetRequiredKeyedService<IChatClient>("jacobi");
        var arClient = provider.GetRequiredKeyedService<IChatClient>("ar");
        Assert.NotNull(jacobiClient.GetService<LoggingChatClient>());                            // the keyed builder's middleware
        Assert.Null(arClient.GetService<LoggingChatClient>());
        Assert.Same(jacobi, jacobiClient.GetService<CllmEngine>());
        Assert.Same(ar, arClient.GetService<CllmEngine>());

        var messages = new[] { new ChatMessage(ChatRole.User, "Once upon a time") };
        var options = new ChatOptions { MaxOutputTokens = 24 };
        Assert.Equal((await arClient.GetResponseAsync(messages, options)).Text, (await jacobiClient.GetResponseAsync(messages, options)).Text);  // greedy: Jacobi equals AR
    }
}
