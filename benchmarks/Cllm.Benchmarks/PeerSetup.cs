using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Cllm.Core;
using Cllm.Cli;
using Cllm.Tools;

namespace Cllm.Benchmarks;

/// <summary>
/// The two sides of a peer benchmark on the same weights: Cllm's model and requests (prompt ids), and the GGUF file
/// exported from the same folder (for <c>random:*</c>, a seeded random model saved as a Hugging Face folder first).
/// </summary>
internal sealed class PeerSetup : IDisposable
{
    private readonly CllmEngine? _engine;
    private readonly string _scratch;

    private PeerSetup(LlamaForCausalLM model, CllmEngine? engine, List<DecodeRequest> requests, string gguf, string scratch)
    {
        Model = model;
        _engine = engine;
        Requests = requests;
        GgufPath = gguf;
        _scratch = scratch;
    }

    public LlamaForCausalLM Model { get; }

    public List<DecodeRequest> Requests { get; }

    /// <summary>The F32 GGUF export of the same weights.</summary>
    public string GgufPath { get; }

    public static PeerSetup Create(string modelSpec, string? promptsFile, int requests, int maxNewTokens)
    {
        var scratch = Directory.CreateTempSubdirectory("cllm-peer-").FullName;
        try
        {
            var gguf = Path.Combine(scratch, "model-f32.gguf");
            if (RandomModels.IsRandom(modelSpec))
            {
                var model = RandomModels.Create(modelSpec);
                var folder = Path.Combine(scratch, "hf");
                CheckpointWriter.Save(model, model.Config, folder, copyTokenizerFrom: null, storeAs: TorchSharp.torch.ScalarType.Float32);
                GgufExporter.Export(folder, gguf, GgufFileType.F32, placeholderVocabulary: true);
                var random = new Random(1234);
                var list = Enumerable.Range(0, requests).Select(_ => new DecodeRequest
                {
                    PromptIds = Enumerable.Range(0, 24).Select(_ => random.Next(3, model.Config.VocabSize)).Prepend(1).ToArray(),
                    Options = new GenerationOptions { MaxNewTokens = maxNewTokens },
                }).ToList();
                return new PeerSetup(model, null, list, gguf, scratch);
            }

            var file = promptsFile ?? throw new ArgumentException("--prompts is required with a checkpoint folder.");
            GgufExporter.Export(modelSpec, gguf, GgufFileType.F32);
            var engine = CllmBuilder.FromCheckpoint(modelSpec).Build();
            var texts = PromptFile.Read(file).Take(requests).ToList();
            var built = texts.Select(p => engine.CreateRequest(p, new GenerationOptions { MaxNewTokens = maxNewTokens })).ToList();
            return new PeerSetup(engine.Model, engine, built, gguf, scratch);
        }
        catch
        {
            Directory.Delete(scratch, recursive: true);
            throw;
        }
    }

    public void Dispose()
    {
        if (_engine is null)
        {
            Model.Dispose();
        }
        else
        {
            _engine.Dispose();
        }

        Directory.Delete(_scratch, recursive: true);
    }
}
