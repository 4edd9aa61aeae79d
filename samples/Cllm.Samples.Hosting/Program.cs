using System;
using System.IO;
using System.Threading.Tasks;
using Cllm;
using Cllm.ChatClient;
using Cllm.Checkpoints;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// A host that serves a CLLM through Microsoft.Extensions.AI: the engine is registered with AddCllm, and the
// IChatClient the app uses is composed with ChatClientBuilder middleware (here: logging).
// Usage: dotnet run --project samples/Cllm.Samples.Hosting -c Release -- [MODEL_DIR] [PROMPT]
string model = args.Length > 0 ? args[0] : Path.Combine("..", "shared", "models", "stories260K");
string prompt = args.Length > 1 ? args[1] : "Once upon a time";

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Information);
builder.Services.AddCllm(CllmBuilder.FromCheckpoint(model).UseJacobi(n: 16));
builder.Services.AddChatClient(sp => sp.GetRequiredService<CllmEngine>().AsChatClient()).UseLogging();

using var host = builder.Build();
IChatClient chat;
try
{
    chat = host.Services.GetRequiredService<IChatClient>();                                   // loads the model
}
catch (Exception ex) when (ex is CheckpointException or IOException or ArgumentException or FormatException or InvalidOperationException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}

await foreach (var update in chat.GetStreamingResponseAsync(prompt, new ChatOptions { MaxOutputTokens = 96 }))
{
    Console.Write(update.Text);
    foreach (var usage in update.Contents)
    {
        if (usage is UsageContent { Details: var details })
        {
            Console.WriteLine();
            Console.WriteLine($"[{details.OutputTokenCount} tokens, {details.AdditionalCounts?["ForwardPasses"]} forward passes, {details.AdditionalCounts?["TokensPerForwardX1000"] / 1000.0:F2} tokens per forward]");
        }
    }
}

return 0;
