using System;
using System.Linq;
using System.Threading.Tasks;
using Cllm.Tests.TestKit;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Reliability;

/// <summary>Non-finite logits stop decoding with one line naming the position instead of exit 0 and garbage.</summary>
[Collection("Console")]
public class BadInputNonFiniteTests
{
    public static TheoryData<string> DecoderNames => new() { "ar", "jacobi", "lookahead" };

    [Theory]
    [MemberData(nameof(DecoderNames))]
    public void EveryDecoderFailsOnNaNLogitsNamingThePosition(string name)
    {
        using var model = TinyLlama.Create(seed: 5);
        using (no_grad())
        {
            var norm = model.named_parameters().Single(p => p.name == "model.norm.weight").parameter;
            norm[7] = torch.tensor(float.NaN);                                              // every position's logits become NaN
        }

        var decoder = name switch
        {
            "ar" => Decoders.Autoregressive(model),
            "jacobi" => Decoders.Jacobi(model, 4),
            _ => Decoders.Lookahead(model),
        };
        var request = new DecodeRequest { PromptIds = new[] { 1, 5, 9, 13 }, Options = new GenerationOptions { MaxNewTokens = 8 } };

        var ex = Assert.Throws<InvalidOperationException>(() => decoder.Decode(request).ToList());
        Assert.Equal("the model produced non-finite logits (NaN/Inf) at position 3: check the weights.", ex.Message);
    }

    [SkippableFact]
    public async Task TheCliReportsNonFiniteLogitsInOneLineWithANonZeroExit()
    {
        using var temp = new TempFolder();
        var model = ModelCopies.Copy(temp.File("model"));

        // Finite weights that overflow float32 in the forward: the final norm scales the hidden state to ~1e38.
        ModelCopies.ChangeTensor(model, "model.norm.weight", t =>
        {
            using var big = 1e38.ToScalar();
            t.fill_(big);
        });

        var (code, error) = await CliRunner.Run("generate", "--model", model, "--prompt", "Once", "--max-new-tokens", "4", "--threads", "1");

        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.StartsWith("error: the model produced non-finite logits (NaN/Inf) at position ", line);
        Assert.EndsWith(": check the weights.", line);
    }
}
