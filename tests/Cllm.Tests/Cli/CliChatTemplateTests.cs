using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Cllm.Tests.TestKit;
using Cllm.Core;

namespace Cllm.Tests.Cli;

/// <summary><c>cllm generate --chat-template</c>: the prompt becomes the user turn of the chosen or the model's own template.</summary>
[Collection("Console")]
public class CliChatTemplateTests
{
    private const string Prompt = "Once upon a time";

    [Fact]
    public async Task NamedTemplatesWrapThePromptAndNoneOrAutoWithoutATemplateKeepItAsIs()
    {
        var tokenizer = CllmTokenizer.FromDirectory(ShippedModels.Stories260K);
        int[] plain = tokenizer.Encode(Prompt);
        Assert.Equal(plain, await PromptIds(ShippedModels.Stories260K));
        Assert.Equal(plain, await PromptIds(ShippedModels.Stories260K, "none"));
        Assert.Equal(plain, await PromptIds(ShippedModels.Stories260K, "auto"));   // stories260K declares no template

        int[] llama2 = [1, .. tokenizer.Encode($"[INST] {Prompt} [/INST]", addSpecial: false)];
        Assert.Equal(llama2, await PromptIds(ShippedModels.Stories260K, "llama2"));
        Assert.Equal(
            tokenizer.Encode($"A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions. USER: {Prompt} ASSISTANT:"),
            await PromptIds(ShippedModels.Stories260K, "vicuna"));
        Assert.Equal(tokenizer.Encode($"### Instruction:\n{Prompt}\n### Response:\n"), await PromptIds(ShippedModels.Stories260K, "instruction"));
        Assert.NotEqual(plain, llama2);
    }

    [Fact]
    public async Task AutoUsesTheTemplateInTokenizerConfig()
    {
        using var temp = new TempFolder();
        string model = Directory.CreateDirectory(Path.Combine(temp.Path, "model")).FullName;
        foreach (var file in Directory.GetFiles(ShippedModels.Stories260K))
        {
            File.Copy(file, Path.Combine(model, Path.GetFileName(file)));
        }

        string configPath = Path.Combine(model, "tokenizer_config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["chat_template"] = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}{% endif %}{% endfor %}";
        File.WriteAllText(configPath, config.ToJsonString());

        Assert.Equal(await PromptIds(model, "llama2"), await PromptIds(model, "auto"));
        Assert.NotEqual(await PromptIds(model, "none"), await PromptIds(model, "auto"));
    }

    [Fact]
    public async Task AnUnknownTemplateFailsWithOneLineNamingTheFlagAndWritesNothing()
    {
        using var temp = new TempFolder();
        string output = temp.File("out.jsonl");
        var (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompt", Prompt, "--chat-template", "alpaca", "--output", output, "--threads", "1");
        Assert.Equal(1, code);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--chat-template", error);
        Assert.Contains("alpaca", error);
        Assert.False(File.Exists(output));
    }

    /// <summary>The prompt_ids <c>cllm generate</c> reports for <see cref="Prompt"/> (4 new tokens).</summary>
    private static async Task<int[]> PromptIds(string model, string? template = null)
    {
        using var temp = new TempFolder();
        string output = temp.File("out.jsonl");
        string[] args = ["generate", "--model", model, "--prompt", Prompt, "--max-new-tokens", "4", "--output", output, "--threads", "1"];
        if (template is not null)
        {
            args = [.. args, "--chat-template", template];
        }

        var (code, error) = await CliRunner.Run(args);
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(File.ReadLines(output).Single());
        return doc.RootElement.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
    }
}
