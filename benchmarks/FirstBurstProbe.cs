// The first concurrent requests on a fresh engine (docs/serving.md, "How long the drafts are under load"):
//   dotnet run benchmarks/FirstBurstProbe.cs -c Release -- MODEL PROMPTS.jsonl [bfloat16|float32] [none|bf16|int4a8]
// One engine (Jacobi n = 16, 2 threads, the dtype and projections given); one request alone (warm-up), then three bursts
// of two concurrent 16-token requests, a 25 s pause (the engine finishes measuring its batch budget's forward-cost curve
// while idle), and the same three bursts again: the wall time of each. The first bursts run as batched AR beside the
// measurement; the last ones show the same bursts once the curve is ready.
#:project ../src/Cllm.Decoding/Cllm.Decoding.csproj
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm;
using Cllm.Core;

var prompts = File.ReadLines(args[1]).Take(8).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("prompt").GetString()!).ToArray();
var dtype = args.Length > 2 && args[2] == "float32" ? TorchSharp.torch.ScalarType.Float32 : TorchSharp.torch.ScalarType.BFloat16;
var quantization = args.Length > 3 ? Enum.Parse<WeightQuantization>(args[3] == "bf16" ? "BFloat16" : args[3], ignoreCase: true) : WeightQuantization.None;
if (prompts.Length < 5)
{
    Console.Error.WriteLine("need at least 5 prompts.");
    return 1;
}

using var engine = CllmBuilder.FromCheckpoint(args[0]).WithDType(dtype).WithQuantization(quantization).WithThreads(2).UseJacobi(16).Build();
var options = new GenerationOptions { MaxNewTokens = 16 };
var clock = Stopwatch.StartNew();
engine.Generate(prompts[0], options);
Console.WriteLine($"one request alone (warm-up): {clock.ElapsedMilliseconds} ms");
async Task Bursts(string label)
{
    for (int burst = 0; burst < 3; burst++)
    {
        clock.Restart();
        await Task.WhenAll(Enumerable.Range(0, 2).Select(i => Task.Run(() => engine.Generate(prompts[1 + i + burst], options))));
        Console.WriteLine($"{label}, burst {burst} of two requests: {clock.ElapsedMilliseconds} ms");
    }
}

await Bursts("fresh engine");
await Task.Delay(TimeSpan.FromSeconds(25));
await Bursts("after 25 s idle");
return 0;
