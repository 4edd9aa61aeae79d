using Cllm.Core;

namespace Cllm;

/// <summary>Autoregressive decoding: one token per forward pass (greedy or sampled). <see cref="DecoderOptions.Autoregressive"/> is one.</summary>
public sealed record AutoregressiveOptions : DecoderOptions
{
    /// <summary>"ar".</summary>
    public override string Label => "ar";

    private protected override long WidestForward => 1;

    /// <summary>Nothing to check.</summary>
    public override void Validate()
    {
    }

    private protected override DraftVerifyDecoder Build(LlamaForCausalLM model)
        => new(model, Label, () => new NoDraftProposer());
}
