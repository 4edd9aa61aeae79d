using Cllm.Reproduction.Pipeline;
using Cllm.Tests.TestKit;

namespace Cllm.Reproduction.Tests;

/// <summary>settings.json: which fields of a rerun's settings differ from the recorded ones.</summary>
public sealed class SettingsFileTests
{
    [Fact]
    public void Differences_name_changed_fields_nested_ones_dotted_and_ignore_threads()
    {
        using var folder = new TempFolder();
        string path = folder.File(SettingsFile.FileName);
        var recorded = new ReproductionSettings().Resolved();
        SettingsFile.Write(path, recorded);

        Assert.Empty(SettingsFile.Differences(path, recorded));
        Assert.Empty(SettingsFile.Differences(path, recorded with { Threads = 2 }));        // operational: same results
        var changed = recorded with { CllmEpochs = 1, Pretrain = recorded.Pretrain with { Steps = 5 }, BlockSizes = new[] { 8, 16 }, CllmLabelSmoothing = 0.1 };
        Assert.Equal(
            new[] { "pretrain.steps (800 → 5)", "cllm_epochs (5 → 1)", "cllm_label_smoothing (0 → 0.1)", "block_sizes ([4,8,12,16,24,32] → [8,16])" },
            SettingsFile.Differences(path, changed));
    }
}
