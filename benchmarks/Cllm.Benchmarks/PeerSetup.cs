using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Cllm.Benchmarking;
using Cllm.CommandLine;
using Cllm.Core;
using TorchSharp;

namespace Cllm.Benchmarks;

/// <summary>
/// The two sides of a peer benchmark on the same weights: Cllm's models (one per quantization, all in one dtype,
/// loaded by the library's builder) and requests (prompt ids), and the GGUF files made from the same folder (for
/// <c>random:*</c>, a seeded random model saved as a Hugging Face folder first).
/// </summary>
internal sealed class PeerSetup : IDisposable
{
    private readonly List<IDisposable> _owned;
    private readonly string _scratch;

    private PeerSetup(IReadOnlyList<BenchmarkModel> models, List<IDisposable> owned, List<DecodeRequest> requests, IReadOnlyList<(LlamaWeightType, string)> ggufs, string scratch)
    {
        Models = models;
        _owned = owned;
        Requests = requests;
        Ggufs = ggufs;
        _scratch = scratch;
    }

    /// <summary>Cllm's models, labelled by format (<see cref="PeerFormats.Label(torch.ScalarType, WeightQuantization)"/>), in the order asked for.</summary>
    public IReadOnlyList<BenchmarkModel> Models { get; }

    public LlamaConfig Config => Models[0].Model.Config;

    public List<DecodeRequest> Requests { get; }

    /// <summary>The GGUF files of the same weights, one per type asked for.</summary>
    public IReadOnlyList<(LlamaWeightType Type, string Path)> Ggufs { get; }

    public static PeerSetup Create(
        string modelSpec, string? promptsFile, int requests, int maxNewTokens, torch.ScalarType dtype,
        IReadOnlyList<WeightQuantization> quantizations, IReadOnlyList<LlamaWeightType> ggufTypes, int threads, string? ggufDirectory = null)
    {
        var scratch = Directory.CreateTempSubdirectory("cllm-peer-").FullName;
        var owned = new List<IDisposable>();
        try
        {
            if (RandomModels.IsRandom(modelSpec))
            {
                if (ggufDirectory is not null)
                {
                    throw new ArgumentException($"--gguf-dir keeps the files of a checkpoint folder; the random model '{modelSpec}' is made afresh each run.");
                }

                if (quantizations.Any(q => q != WeightQuantization.None))
                {
                    throw new ArgumentException($"--quantize needs a checkpoint folder (it quantizes weights as they are read), not the random model '{modelSpec}'.");
                }

                var model = RandomModels.Create(modelSpec, dtype: dtype);
                owned.Add(model);
                var folder = Path.Combine(scratch, "hf");
                model.Save(folder, copyTokenizerFrom: null, storeAs: torch.ScalarType.Float32);
                var randomGgufs = PeerGguf.Make(folder, placeholderVocabulary: true, ggufTypes, scratch, threads);
                Directory.Delete(folder, recursive: true);
                var random = new Random(1234);
                var list = Enumerable.Range(0, requests).Select(_ => new DecodeRequest
                {
                    PromptIds = Enumerable.Range(0, 24).Select(_ => random.Next(3, model.Config.VocabSize)).Prepend(1).ToArray(),
                    Options = new GenerationOptions { MaxNewTokens = maxNewTokens },
                }).ToList();
                return new PeerSetup(new[] { new BenchmarkModel(PeerFormats.Label(dtype, WeightQuantization.None), model) }, owned, list, randomGgufs, scratch);
            }

            var file = promptsFile ?? throw new ArgumentException("--prompts is required with a checkpoint folder.");
            var texts = PromptFile.Read(file).Take(requests).ToList();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            if (ggufDirectory is not null)
            {
                Directory.CreateDirectory(ggufDirectory);
            }

            var ggufs = PeerGguf.Make(modelSpec, placeholderVocabulary: false, ggufTypes, ggufDirectory ?? scratch, threads, reuse: ggufDirectory is not null);
            Console.Error.WriteLine($"GGUF {string.Join(", ", ggufs.Select(g => PeerFormats.Label(g.Type)))} ready in {clock.Elapsed.TotalSeconds:F1} s");
            var models = new List<BenchmarkModel>();
            foreach (var quantization in quantizations)
            {
                clock.Restart();
                var engine = CllmBuilder.FromCheckpoint(modelSpec).WithDType(dtype).WithQuantization(quantization).WithThreads(threads).Build();
                owned.Add(engine);
                models.Add(new BenchmarkModel(PeerFormats.Label(dtype, quantization), engine.Model, TorchThreads: threads));   // int4a8 and packed bf16 get one (BenchmarkModel)
                Console.Error.WriteLine($"cllm {models[^1].Label} loaded in {clock.Elapsed.TotalSeconds:F1} s");
            }

            var first = (CllmEngine)owned[0];
            var built = texts.Select(p => first.CreateRequest(p, new GenerationOptions { MaxNewTokens = maxNewTokens })).ToList();
            return new PeerSetup(models, owned, built, ggufs, scratch);
        }
        catch
        {
            owned.ForEach(o => o.Dispose());
            Directory.Delete(scratch, recursive: true);
            throw;
        }
    }

    public void Dispose()
    {
        _owned.ForEach(o => o.Dispose());
        Directory.Delete(_scratch, recursive: true);
    }
}
