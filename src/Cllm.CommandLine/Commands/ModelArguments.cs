using System;
using System.CommandLine;
using Cllm.Core;

namespace Cllm.CommandLine.Commands;

/// <summary>
/// --model, the Hugging Face model folder a command reads (bench also takes a random:… model). The folder is checked
/// where the command first needs it, after its other flags, so a bad flag is still the line a user sees first.
/// </summary>
internal sealed class ModelArguments
{
    /// <summary>What every --model folder holds.</summary>
    public const string FolderDescription = "a Hugging Face model folder (config.json, safetensors weights, tokenizer files)";

    /// <param name="role">What the model is to the command, e.g. "The base model"; null for the plain description.</param>
    /// <param name="random">Whether random:15m / random:260k (a seeded random-weight model) is accepted too.</param>
    public ModelArguments(string? role = null, bool random = false)
    {
        AcceptsRandom = random;
        string what = role is null ? char.ToUpperInvariant(FolderDescription[0]) + FolderDescription[1..] : $"{role}: {FolderDescription}";
        Model = new Option<string>("--model")
        {
            Description = random ? $"{what}, or {RandomModels.Prefix}15m / {RandomModels.Prefix}260k for a seeded random-weight model" : what,
            Required = true,
        };
    }

    public Option<string> Model { get; }

    /// <summary>Whether --model may name a random:… model instead of a folder.</summary>
    public bool AcceptsRandom { get; }

    /// <summary>Adds --model as the command's first option (help lists it first).</summary>
    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Insert(0, Model);
    }

    /// <summary>--model as typed (a folder, or a random:… spec where <see cref="AcceptsRandom"/>).</summary>
    public string Spec(ParseResult parse) => parse.GetValue(Model)!;

    /// <summary>Whether --model names a random-weight model (only where <see cref="AcceptsRandom"/>).</summary>
    public bool IsRandom(ParseResult parse) => AcceptsRandom && RandomModels.IsRandom(Spec(parse));

    /// <summary>The --model folder, checked to be a model folder (config.json and weights present); one line naming --model otherwise.</summary>
    public string Folder(ParseResult parse) => CheckFolder(Spec(parse), Model.Name);

    /// <summary>
    /// Checks that <paramref name="path"/>, given as <paramref name="flag"/> (--model, bench's --baseline), is a model
    /// folder: "--model DIR: model folder not found", "--model DIR: model folder has no config.json". Problems inside
    /// its files (a malformed index, say) keep the file's own name and are left to the loader.
    /// </summary>
    public static string CheckFolder(string path, string flag)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            HfModelDirectory.Open(path);
        }
        catch (CheckpointException ex) when (string.Equals(ex.FilePath, System.IO.Path.GetFullPath(path), StringComparison.Ordinal))
        {
            throw new ArgumentException($"{flag} {path}: {ex.Problem}", ex);
        }

        return path;
    }
}
