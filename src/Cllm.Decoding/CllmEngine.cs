using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Cllm.Diagnostics;
using Cllm.Modeling;
using Cllm.Text;
using Microsoft.Extensions.Logging;

namespace Cllm;

/// <summary>
/// A loaded model, its tokenizer and a chosen decoder: what <see cref="CllmBuilder.Build"/> returns.
/// Owns the weights (dispose it to free them). Requests are served one at a time: concurrent calls to
/// <see cref="Generate"/> wait for each other, because tensor work on one model is not thread-safe.
/// </summary>
public sealed class CllmEngine : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ILogger _logger;
    private bool _disposed;

    internal CllmEngine(LlamaForCausalLM model, CllmTokenizer tokenizer, string modelDirectory, IReadOnlyList<int> eosTokenIds, DecoderOptions decoder, ILogger logger)
    {
        Model = model;
        Tokenizer = tokenizer;
        ModelDirectory = modelDirectory;
        EosTokenIds = eosTokenIds;
        DecoderOptions = decoder;
        Decoder = decoder.CreateDecoder(model);
        _logger = logger;
    }

    /// <summary>The model (weights only).</summary>
    public LlamaForCausalLM Model { get; }

    /// <summary>The tokenizer of the checkpoint.</summary>
    public CllmTokenizer Tokenizer { get; }

    /// <summary>The checkpoint folder the engine was built from.</summary>
    public string ModelDirectory { get; }

    /// <summary>End-of-sequence ids from config.json and generation_config.json.</summary>
    public IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>The default decoder's settings.</summary>
    public DecoderOptions DecoderOptions { get; }

    /// <summary>The default decoder.</summary>
    public IDecoder Decoder { get; }

    /// <summary>Builds a decoder over this engine's model with other settings (e.g. AR next to Jacobi).</summary>
    public IDecoder CreateDecoder(DecoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.CreateDecoder(Model);
    }

    /// <summary>Tokenizes <paramref name="prompt"/> as Hugging Face would (BOS per the tokenizer config) into a request.</summary>
    public DecodeRequest CreateRequest(string prompt, GenerationSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        settings ??= new GenerationSettings();
        var eos = settings.StopAtEos ? EosTokenIds.Concat(settings.StopTokenIds) : settings.StopTokenIds;
        return new DecodeRequest
        {
            PromptIds = Tokenizer.Encode(prompt),
            MaxNewTokens = settings.MaxNewTokens,
            Sampling = settings.Sampling,
            Stop = new StopConditions { EosTokenIds = eos.Distinct().ToArray(), StopSequences = settings.StopSequences },
        };
    }

    /// <summary>Generates a completion of <paramref name="prompt"/>.</summary>
    public CllmResponse Generate(string prompt, GenerationSettings? settings = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var request = CreateRequest(prompt, settings);
        var decoder = settings?.Decoder is { } d ? CreateDecoder(d) : Decoder;
        Log.Prompt(_logger, prompt);
        _gate.Wait(cancellationToken);
        try
        {
            var result = decoder.DecodeToEnd(request, cancellationToken);
            Log.RequestFinished(_logger, decoder.Name, result.Stats.GeneratedTokens, result.Stats.ForwardPasses, result.Stats.TokensPerForward, result.Finish, result.Stats.Elapsed.TotalMilliseconds);
            return new CllmResponse(Tokenizer.Decode(result.OutputIds), request.PromptIds, result.OutputIds, result.Finish, result.Stats);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Generates a completion, yielding text pieces as tokens are produced (UTF-8 safe).</summary>
    public IEnumerable<string> GenerateStreaming(string prompt, GenerationSettings? settings = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var request = CreateRequest(prompt, settings);
        var decoder = settings?.Decoder is { } d ? CreateDecoder(d) : Decoder;
        var detokenizer = new StreamingDetokenizer(Tokenizer);
        _gate.Wait(cancellationToken);
        try
        {
            foreach (var step in decoder.Decode(request, cancellationToken))
            {
                foreach (var token in step.Tokens)
                {
                    var piece = detokenizer.Push(token);
                    if (piece.Length > 0)
                    {
                        yield return piece;
                    }
                }
            }

            var rest = detokenizer.Flush();
            if (rest.Length > 0)
            {
                yield return rest;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Model.Dispose();
        _gate.Dispose();
    }
}
