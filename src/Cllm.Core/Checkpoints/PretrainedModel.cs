using System;
using System.Collections.Generic;
using TorchSharp;

namespace Cllm.Core;

/// <summary>
/// A Hugging Face model folder, loaded: the model in evaluation mode, its tokenizer, its stop ids and its chat template.
/// The one "folder → config → model → weights" path of Cllm (Hugging Face's <c>from_pretrained</c>): the config is
/// checked against the weight headers and the available memory before anything is allocated, and every weight is
/// checked by name, shape and value while it is copied. Disposing it disposes <see cref="Model"/>, the only native resource.
/// </summary>
public sealed class PretrainedModel : IDisposable
{
    /// <summary>Below this many parameters a CPU model gets one intra-op thread unless told otherwise (docs/performance.md).</summary>
    public const long SingleThreadBelowParameters = 5_000_000;

    private readonly CllmTokenizer? _tokenizer;
    private readonly ChatTemplate? _chatTemplate;

    private PretrainedModel(string directory, LlamaForCausalLM model, CllmTokenizer? tokenizer, ChatTemplate? chatTemplate, long parameters)
    {
        Directory = directory;
        Model = model;
        _tokenizer = tokenizer;
        _chatTemplate = chatTemplate;
        Parameters = parameters;
    }

    /// <summary>Full path of the model folder.</summary>
    public string Directory { get; }

    /// <summary>The model, weights loaded, in evaluation mode.</summary>
    public LlamaForCausalLM Model { get; }

    /// <summary>The config the model was built from (generation_config.json EOS ids included).</summary>
    public LlamaConfig Config => Model.Config;

    /// <summary>Number of parameters.</summary>
    public long Parameters { get; }

    /// <summary>
    /// What <see cref="PretrainedModelOptions.Quantization"/> made of the projections: formats, counts, bytes, and the
    /// projections that fell back from int4 to int8; null when not quantized.
    /// </summary>
    public string? QuantizationSummary => Model.Quantization == WeightQuantization.None ? null : Model.QuantizationSummary();

    /// <summary>End-of-sequence ids from config.json and generation_config.json: where generation stops.</summary>
    public IReadOnlyList<int> EosTokenIds => Model.Config.EosTokenIds;

    /// <summary>The folder's tokenizer.</summary>
    /// <exception cref="InvalidOperationException">Loaded with <see cref="PretrainedModelOptions.LoadTokenizer"/> false.</exception>
    public CllmTokenizer Tokenizer => _tokenizer ?? throw NoTokenizer();

    /// <summary>The folder's chat template (<see cref="ChatTemplateKind.None"/> when it has none).</summary>
    /// <exception cref="InvalidOperationException">Loaded with <see cref="PretrainedModelOptions.LoadTokenizer"/> false.</exception>
    internal ChatTemplate ChatTemplate => _chatTemplate ?? throw NoTokenizer();

    /// <summary>Loads the Hugging Face model folder at <paramref name="path"/>.</summary>
    /// <exception cref="CheckpointException">A missing or malformed file, a config that disagrees with the weights, too little memory, or corrupt weights.</exception>
    /// <exception cref="ArgumentException">Bad options, or a device that is not present.</exception>
    public static PretrainedModel Load(string path, PretrainedModelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new PretrainedModelOptions();
        options.Validate();
        var device = ModelDevice.Parse(options.Device);
        if (options.Threads is { } threads)
        {
            torch.set_num_threads(threads);
        }

        var directory = HfModelDirectory.Open(path);
        var config = directory.ReadConfig();
        var tokenizer = options.LoadTokenizer ? CllmTokenizer.FromDirectory(directory.Path) : null;      // a broken tokenizer fails before the weights load
        var chatTemplate = tokenizer is null ? null : ChatTemplate.FromDirectory(directory.Path, tokenizer);
        var dtype = options.DType ?? CheckpointDType.Detect(directory, config);
        options.CheckDType?.Invoke(dtype);
        CheckpointLoader.CheckBeforeBuilding(directory, config, dtype, quantization: options.Quantization); // config vs weight shapes and memory, before allocating
        var model = new LlamaForCausalLM(config, dtype, device, initialize: false, options.Quantization);     // every weight is loaded next (quantized as read)
        try
        {
            CheckpointLoader.LoadWeights(model, directory, config.TieWordEmbeddings);
            model.eval();
        }
        catch
        {
            model.Dispose();
            throw;
        }

        long parameters = model.ParameterCount;
        if (options.Threads is null && options.SingleThreadForSmallModels && parameters < SingleThreadBelowParameters && device.type == DeviceType.CPU)
        {
            torch.set_num_threads(1);
        }

        if (options.Quantization != WeightQuantization.None && device.type == DeviceType.CPU)
        {
            // The int4a8 and packed bfloat16 kernels run on workers of their own. libtorch's idle OpenMP workers spin for milliseconds after each
            // op and would take those cores (1B shape, 2 threads: a 16-token forward took 282 ms with libtorch on 2
            // threads, 139 ms with libtorch on 1), so libtorch's remaining ops (attention, norms) run on one thread.
            model.UseKernelThreads(torch.get_num_threads());                                // int4a8 and packed bfloat16 projections, if any
            if (model.KernelThreads > 0)
            {
                torch.set_num_threads(1);
            }
        }

        return new PretrainedModel(directory.Path, model, tokenizer, chatTemplate, parameters);
    }

    /// <summary>
    /// Copies the weights of the folder at <paramref name="path"/> into an existing <paramref name="model"/> of the same
    /// shape (e.g. to resume training), with the checks of <see cref="Load"/>.
    /// </summary>
    public static void LoadWeightsInto(LlamaForCausalLM model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckpointLoader.LoadWeights(model, HfModelDirectory.Open(path), model.Config.TieWordEmbeddings);
    }

    /// <summary>Disposes the model.</summary>
    public void Dispose() => Model.Dispose();

    private InvalidOperationException NoTokenizer() => new($"{Directory} was loaded without its tokenizer (PretrainedModelOptions.LoadTokenizer = false).");
}
