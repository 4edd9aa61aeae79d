using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm;
using Cllm.Tests.TestKit;
using Microsoft.Extensions.AI;

namespace Cllm.Tests.ChatClient;

/// <summary>Every ChatOptions property is honoured or refused with its name (docs/chat-client.md); nothing is dropped silently.</summary>
public class ChatOptionsHandlingTests
{
    private const string ModelId = "stories260K";

    public static TheoryData<string, string> Unsupported => new()
    {
        { "Tools", nameof(ChatOptions.Tools) },
        { "ToolMode", nameof(ChatOptions.ToolMode) },
        { "Json", nameof(ChatOptions.ResponseFormat) },
        { "Schema", nameof(ChatOptions.ResponseFormat) },
        { "FrequencyPenalty", nameof(ChatOptions.FrequencyPenalty) },
        { "PresencePenalty", nameof(ChatOptions.PresencePenalty) },
        { "Reasoning", nameof(ChatOptions.Reasoning) },
        { "ConversationId", nameof(ChatOptions.ConversationId) },
        { "ModelId", nameof(ChatOptions.ModelId) },
    };

    [Theory]
    [MemberData(nameof(Unsupported))]
    public void OptionsThatCannotBeHonouredAreRefusedNamingTheProperty(string option, string property)
    {
        var ex = Assert.Throws<NotSupportedException>(() => CllmChatClient.ToGenerationOptions(Options(option), ModelId));
        Assert.StartsWith($"ChatOptions.{property} is not supported", ex.Message);
    }

    [Theory]
    [InlineData(-1.0, null, null, null, "ChatOptions.Temperature")]
    [InlineData(double.NaN, null, null, null, "ChatOptions.Temperature")]
    [InlineData(double.PositiveInfinity, null, null, null, "ChatOptions.Temperature")]
    [InlineData(0.8, 0f, null, null, "ChatOptions.TopP")]
    [InlineData(0.8, 1.5f, null, null, "ChatOptions.TopP")]
    [InlineData(null, null, -1, null, "ChatOptions.TopK")]
    [InlineData(null, null, null, 0, "ChatOptions.MaxOutputTokens")]
    public void ValuesOutOfRangeFailInTheLibrarysValidationNamedAsChatOptions(double? temperature, float? topP, int? topK, int? maxOutputTokens, string named)
    {
        // The chat client maps the options, then checks them once with the prompt when it resolves the request.
        var options = new ChatOptions { Temperature = (float?)temperature, TopP = topP, TopK = topK, MaxOutputTokens = maxOutputTokens };
        var request = new DecodeRequest { PromptIds = new[] { 1 }, Options = CllmChatClient.ToGenerationOptions(options, ModelId) };
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => CllmChatClient.Resolve(request, vocabSize: 32, contextLength: 64));
        Assert.StartsWith($"{named} must be", ex.Message);

        // The same values given to the engine directly fail in the same check, named as GenerationOptions' properties.
        var direct = new GenerationOptions { Temperature = temperature, TopP = topP, TopK = topK, MaxNewTokens = maxOutputTokens };
        var library = Assert.Throws<ArgumentOutOfRangeException>(() => direct.Validate());
        Assert.Equal(named == "ChatOptions.MaxOutputTokens" ? nameof(GenerationOptions.MaxNewTokens) : named["ChatOptions.".Length..], library.ParamName);
    }

    [Fact]
    public void WhatCanBeHonouredMapsOntoGenerationOptions()
    {
        var options = new ChatOptions
        {
            MaxOutputTokens = 12, Temperature = 0.7f, TopK = 40, TopP = 0.9f, Seed = 5_000_000_000L,
            ResponseFormat = ChatResponseFormat.Text, ToolMode = ChatToolMode.None, Tools = new List<AITool>(), FrequencyPenalty = 0, PresencePenalty = 0,
            ModelId = "STORIES260K", Reasoning = new ReasoningOptions { Effort = ReasoningEffort.None }, AllowBackgroundResponses = true,
            AdditionalProperties = new AdditionalPropertiesDictionary { ["ignored"] = 1 },
        };
        var generation = CllmChatClient.ToGenerationOptions(options, ModelId);
        Assert.Equal(12, generation.MaxNewTokens);
        Assert.Equal(0.7, generation.Temperature!.Value, 6);
        Assert.Equal(40, generation.TopK);
        Assert.Equal(0.9, generation.TopP!.Value, 6);
        Assert.Equal(unchecked((int)5_000_000_000L), generation.Seed);
        Assert.Null(CllmChatClient.ToGenerationOptions(null, ModelId).Temperature);
    }

    [SkippableFact]
    public async Task RefusalsComeBeforeAnyDecodingAndAcceptedOptionsGiveTheGreedyText()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseJacobi(n: 8).Build();
        var client = engine.AsChatClient();
        var messages = new[] { new ChatMessage(ChatRole.User, "Once upon a time") };
        var json = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(messages, Options("Json")));
        Assert.Contains("ChatOptions.ResponseFormat", json.Message);
        await Assert.ThrowsAsync<NotSupportedException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(messages, Options("Tools")))
            {
                Assert.Fail($"decoded '{update.Text}' before refusing the tools");
            }
        });
        var temperature = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetResponseAsync(messages, new ChatOptions { Temperature = -1 }));
        Assert.StartsWith("ChatOptions.Temperature must be", temperature.Message);

        var expected = engine.Generate("Once upon a time", new GenerationOptions { MaxNewTokens = 16 }).Text;
        var accepted = new ChatOptions { MaxOutputTokens = 16, ResponseFormat = ChatResponseFormat.Text, FrequencyPenalty = 0, ToolMode = ChatToolMode.Auto };
        Assert.Equal(expected, (await client.GetResponseAsync(messages, accepted)).Text);
    }

    [SkippableFact]
    public async Task EmptyMessagesToolTurnsAndNonTextContentAreRefused()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).Build();
        var client = engine.AsChatClient();
        var empty = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(Array.Empty<ChatMessage>(), new ChatOptions { Instructions = "Be brief." }));
        Assert.Equal("messages", empty.ParamName);
        Assert.Contains("at least one message", empty.Message);

        var tool = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(new[] { new ChatMessage(ChatRole.Tool, "42") }));
        Assert.Contains("'tool'", tool.Message);

        var image = new ChatMessage(ChatRole.User, new List<AIContent> { new TextContent("What is this?"), new DataContent(new byte[] { 1, 2, 3 }, "image/png") });
        var content = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(new[] { image }));
        Assert.Contains(nameof(DataContent), content.Message);
    }

    /// <summary>ChatOptions with one option set that this client cannot honour.</summary>
    private static ChatOptions Options(string option) => option switch
    {
        "Tools" => new ChatOptions { Tools = new List<AITool> { AIFunctionFactory.Create(() => 42, "answer") } },
        "ToolMode" => new ChatOptions { ToolMode = ChatToolMode.RequireAny },
        "Json" => new ChatOptions { ResponseFormat = ChatResponseFormat.Json },
        "Schema" => new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse("{\"type\":\"object\"}").RootElement, "answer") },
        "FrequencyPenalty" => new ChatOptions { FrequencyPenalty = 0.5f },
        "PresencePenalty" => new ChatOptions { PresencePenalty = -0.5f },
        "Reasoning" => new ChatOptions { Reasoning = new ReasoningOptions { Effort = ReasoningEffort.High } },
        "ConversationId" => new ChatOptions { ConversationId = "c1" },
        "ModelId" => new ChatOptions { ModelId = "gpt-4o" },
        _ => throw new ArgumentOutOfRangeException(nameof(option), option, null),
    };
}
