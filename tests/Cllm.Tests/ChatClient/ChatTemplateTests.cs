using System.IO;
using Cllm.Tests.TestKit;
using Cllm.Tests.Text;
using Cllm.Core;

namespace Cllm.Tests.ChatClient;

public class ChatTemplateTests
{
    [Theory]
    [InlineData("{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content }}<|eot_id|>{% endfor %}", "Llama3")]
    [InlineData("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}", "ChatML")]
    [InlineData("{{ bos_token }}[INST] {{ m.content }} [/INST]", "Llama2")]
    [InlineData("{{ messages }}", "None")]
    [InlineData(null, "None")]
    public void FamiliesAreRecognisedByTheirMarkers(string? template, string kind) => Assert.Equal(kind, ChatTemplate.Recognise(template).ToString());

    [Fact]
    public void ChatMLRendersTurnsAndStopsAtImEnd()
    {
        using var temp = new TempFolder();
        var builder = new TokenizerJsonBuilder().Added("<|im_start|>", 300).Added("<|im_end|>", 301).Added("<|endoftext|>", 302);
        File.WriteAllText(temp.File("tokenizer.json"), builder.ToJson());
        File.WriteAllText(temp.File("tokenizer_config.json"), "{\"chat_template\": \"{% for m in messages %}<|im_start|>{{ m.role }}\\n{{ m.content }}<|im_end|>\\n{% endfor %}\"}");
        var tokenizer = CllmTokenizer.FromDirectory(temp.Path);
        var template = ChatTemplate.FromDirectory(temp.Path, tokenizer);
        Assert.Equal(ChatTemplateKind.ChatML, template.Kind);
        Assert.Equal(new[] { 301, 302 }, template.StopTokenIds);
        var ids = template.Encode(new[] { ("system", "Be brief."), ("user", "Hi") });
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", tokenizer.Decode(ids, skipSpecialTokens: false));
        Assert.Equal(300, ids[0]);
    }

    [SkippableFact]
    public void WithoutATemplateTheUserTextIsThePromptUnchanged()
    {
        var tokenizer = CllmTokenizer.FromDirectory(ShippedModels.Stories260K);
        var template = ChatTemplate.FromDirectory(ShippedModels.Stories260K, tokenizer);
        Assert.Equal(ChatTemplateKind.None, template.Kind);
        Assert.Equal(tokenizer.Encode("Once upon a time"), template.Encode(new[] { ("user", "Once upon a time") }));
    }
}
