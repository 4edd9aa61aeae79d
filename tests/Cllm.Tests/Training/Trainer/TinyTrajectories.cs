using System;
using System.Collections.Generic;
using System.Linq;
using Cllm;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Training;

namespace Cllm.Tests.Training.Trainer;

/// <summary>Trajectory records collected from a model's real Jacobi decode loop.</summary>
internal static class TinyTrajectories
{
    public static List<TrajectoryRecord> Collect(LlamaForCausalLM model, int prompts, int blockSize = 6, int maxNewTokens = 18, int seed = 1)
    {
        var records = new List<TrajectoryRecord>();
        var random = new Random(seed);
        for (int p = 0; p < prompts; p++)
        {
            var prompt = new[] { 1 }.Concat(Enumerable.Range(0, 5).Select(_ => random.Next(3, model.Config.VocabSize))).ToArray();
            var blocks = new List<JacobiTrajectory>();
            var decoder = Decoders.Jacobi(model, blockSize, blocks.Add);
            decoder.DecodeToEnd(new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = maxNewTokens } });
            foreach (var block in blocks.Where(b => b.Complete))
            {
                records.Add(ToRecord(block, p, prompt.Length));
            }
        }

        return records;
    }

    public static TrajectoryRecord ToRecord(JacobiTrajectory block, int prompt, int promptLength) => new()
    {
        DataId = $"data_{prompt}",
        BlockIndex = block.BlockIndex,
        PromptLength = promptLength,
        PromptIds = block.ContextIds.ToArray(),
        Trajectory = block.States.Select(s => s.ToArray()).ToArray(),
        TeacherOutputIds = block.ContextIds.Concat(block.FixedPoint).ToArray(),
    };
}
