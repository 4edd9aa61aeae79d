using System;
using System.IO;
using System.Linq;
using System.Threading;
using Cllm.Core;
using Cllm.Training;

namespace Cllm.Tests.TestKit;

/// <summary>
/// The shared training loop's promise, checked the same way for every trainer: a run cancelled after step
/// <c>cancelAt</c> saves <c>checkpoint-&lt;cancelAt&gt;</c>, and resuming it ends with the weights of an uninterrupted
/// run, bit for bit.
/// </summary>
internal static class ResumeContract
{
    /// <param name="model">A model at the run's starting weights.</param>
    /// <param name="resumed">The model the resumed run starts from (its own weights must not matter).</param>
    /// <param name="options">The run's settings for an output folder.</param>
    /// <param name="train">Runs the trainer on a model with settings, progress and cancellation.</param>
    public static void CancelAndResumeEndsWithTheUninterruptedWeights(
        Func<LlamaForCausalLM> model,
        Func<LlamaForCausalLM> resumed,
        Func<string, TrainingOptions> options,
        Func<LlamaForCausalLM, TrainingOptions, IProgress<TrainingProgress>?, CancellationToken, TrainingResult> train,
        int cancelAt)
    {
        using var folderA = new TempFolder();
        using var folderB = new TempFolder();
        float[] uninterrupted;
        using (var m = model())
        {
            train(m, options(folderA.Path), null, CancellationToken.None);
            uninterrupted = Flat(m);
        }

        using var cts = new CancellationTokenSource();
        using (var m = model())
        {
            var cancel = new SynchronousProgress<TrainingProgress>(p =>
            {
                if (p.Step == cancelAt)
                {
                    cts.Cancel();
                }
            });
            Assert.ThrowsAny<OperationCanceledException>(() => train(m, options(folderB.Path), cancel, cts.Token));
        }

        Assert.True(Directory.Exists(Path.Combine(folderB.Path, $"checkpoint-{cancelAt}")));
        using (var m = resumed())
        {
            var result = train(m, options(folderB.Path) with { Resume = true }, null, CancellationToken.None);
            Assert.Equal(cancelAt, result.StartStep);
            Assert.Equal(uninterrupted, Flat(m));                                             // bit-exact
        }
    }

    private static float[] Flat(LlamaForCausalLM model)
        => model.parameters().SelectMany(p => p.detach().cpu().contiguous().view(-1).data<float>().ToArray()).ToArray();
}
