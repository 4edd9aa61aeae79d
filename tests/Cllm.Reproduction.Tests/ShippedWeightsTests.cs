using System.IO;
using Cllm.Tests.TestKit;

namespace Cllm.Reproduction.Tests;

/// <summary>Every model under samples/models is committed as real files (the repository has no Git LFS).</summary>
public class ShippedWeightsTests
{
    [Theory]
    [InlineData("sql-base")]
    [InlineData("sql-cllm")]
    [InlineData("stories260K")]
    public void Shipped_weights_are_real_safetensors_not_lfs_pointers(string name)
    {
        string dir = ShippedModels.Folder(name);
        ShippedWeights.AssertRealSafetensors(Path.Combine(dir, "model.safetensors"));
        foreach (string tokenizer in new[] { "tokenizer.model", "tokenizer.json" })
        {
            string file = Path.Combine(dir, tokenizer);
            if (File.Exists(file))
            {
                Assert.False(File.ReadAllText(file).StartsWith("version https://git-lfs", System.StringComparison.Ordinal), $"{file} is a Git LFS pointer");
            }
        }
    }
}
