using System;
using System.IO;
using System.Threading.Tasks;
using Cllm;
using Cllm.Core;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// A host that serves a CLLM through Microsoft.Extensions.AI: AddCllm registers the engine and returns the
// ChatClientBuilder of its IChatClient, which composes middleware (here: logging).
// Usage: dotnet run --project samples/Cllm.Samples.Hosting -c Release -- [MODEL_DIR] [PROMPT]
// The model is MODEL_DIR, else the configuration key Cllm:Model (e.g. the environment variable Cllm__Model), else the
// shipped samples/models/stories260K of this repository.
var builder = Host.CreateApplicationBuilder();
string model = args.Length > 0 ? args[0] : builder.Configuration["Cllm:Model"] ?? ShippedStories260K();
string prompt = args.Length > 1 ? args[1] : "Once upon a time";
builder.Logging.SetMinimumLevel(LogLevel.Information);
builder.Services.AddCllm(model, b => b.UseJacobi(n: 16)).UseLogging();

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

// samples/models/stories260K above the program or the working directory (dotnet run works from either).
static string ShippedStories260K()
{
    foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "samples", "models", "stories260K");
            if (File.Exists(Path.Combine(dir.FullName, "Cllm.sln")) && Directory.Exists(candidate))
            {
                return candidate;
            }
        }
    }

    throw new DirectoryNotFoundException("no model given (MODEL_DIR or Cllm:Model) and samples/models/stories260K was not found above the program or the working directory");
}
