using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Trajectories;

/// <summary>Prompts, reference computations and hand-made records for the trajectory tests.</summary>
internal static class TrajectoryFixtures
{
    /// <summary>A few short prompts for the random tiny model (vocab 97, BOS 1, EOS 2).</summary>
    public static IReadOnlyList<IReadOnlyList<int>> Prompts { get; } = new IReadOnlyList<int>[]
    {
        new[] { 1, 6, 17, 33, 4 },
        new[] { 1, 40, 41 },
        new[] { 1, 9, 9, 80, 12, 55, 3, 71 },
        new[] { 1, 23 },
        new[] { 1, 60, 61, 62, 63, 64 },
    };

    /// <summary>Greedy autoregressive continuation of <paramref name="context"/>, no stop besides the count.</summary>
    public static int[] Greedy(LlamaForCausalLM model, IReadOnlyList<int> context, int count)
        => Decoders.Autoregressive(model).DecodeToEnd(new DecodeRequest { PromptIds = context, Options = new GenerationOptions { MaxNewTokens = count } }).OutputIds.ToArray();

    /// <summary>
    /// One Jacobi update of a whole block, by one uncached forward over context ⊕ state: token i of the result is
    /// the argmax after context ⊕ state[..i].
    /// </summary>
    public static int[] JacobiUpdate(LlamaForCausalLM model, IReadOnlyList<int> context, int[] state)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var ids = context.Concat(state).Select(t => (long)t).ToArray();
        var logits = model.Forward(tensor(ids, dtype: ScalarType.Int64).view(1, ids.Length))[0];  // (T, V)
        var argmax = logits.argmax(-1).data<long>().ToArray();
        return Enumerable.Range(0, state.Length).Select(i => (int)argmax[context.Count - 1 + i]).ToArray();
    }

    /// <summary>A valid hand-made record: prompt [1, 2, 3], block of 4, three states.</summary>
    public static TrajectoryRecord Record(string dataId = "data_0", int block = 0, IReadOnlyList<int>? labels = null) => new()
    {
        DataId = dataId,
        BlockIndex = block,
        PromptLength = 3,
        PromptIds = new[] { 1, 5, 3 },
        Trajectory = new[] { new[] { 7, 9, 9, 9 }, new[] { 7, 8, 9, 4 }, new[] { 7, 8, 6, 5 } },
        TeacherOutputIds = new[] { 1, 5, 3, 7, 8, 6, 5 },
        CompleteTeacherOutputIds = new[] { 1, 5, 3, 7, 8, 6, 5, 10, 11, 12, 13 },
        LabelIds = labels,
    };

    /// <summary>Field-by-field equality (records hold arrays, so record equality is by reference).</summary>
    public static void AssertSame(TrajectoryRecord expected, TrajectoryRecord actual)
    {
        Assert.Equal(expected.DataId, actual.DataId);
        Assert.Equal(expected.BlockIndex, actual.BlockIndex);
        Assert.Equal(expected.PromptLength, actual.PromptLength);
        Assert.Equal(expected.PromptIds, actual.PromptIds);
        Assert.Equal(expected.Trajectory.Count, actual.Trajectory.Count);
        for (int j = 0; j < expected.Trajectory.Count; j++)
        {
            Assert.Equal(expected.Trajectory[j], actual.Trajectory[j]);
        }

        Assert.Equal(expected.TeacherOutputIds, actual.TeacherOutputIds);
        Assert.Equal(expected.CompleteTeacherOutputIds, actual.CompleteTeacherOutputIds);
        Assert.Equal(expected.LabelIds, actual.LabelIds);
    }
}
