using System;
using System.Linq;
using Cllm.Benchmarking;
using Cllm;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Decoding;

public class BlockSizePolicyTests
{
    private static BlockSizePolicy Policy(params (int Tokens, double Cost)[] curve)
        => new(curve.Select(c => new ForwardCost(c.Tokens, c.Cost, c.Cost)).ToList());

    /// <summary>Records <paramref name="forwards"/> forwards of full 16-token windows emitting <paramref name="emitted"/> tokens each.</summary>
    private static void Observe(BlockSizePolicy policy, int forwards, int emitted, int window = 16)
    {
        for (int i = 0; i < forwards; i++)
        {
            policy.RecordForward(window, window, emitted);
        }
    }

    [Fact]
    public void High_acceptance_on_a_cheap_curve_chooses_a_large_block()
    {
        var policy = Policy((1, 1.0), (2, 1.05), (4, 1.1), (8, 1.2), (16, 1.5), (32, 2.5));
        Observe(policy, 40, emitted: 8);                                                 // G(p, 16) = 8 → p ≈ 0.875
        Assert.InRange(policy.AcceptanceProbability, 0.85, 0.92);
        int n = policy.Choose();
        Assert.True(n >= 8, $"chose {n}");
        Assert.True(policy.ExpectedRate(n) > 2, $"rate {policy.ExpectedRate(n)}");
        Assert.Equal(n, policy.Next());
    }

    [Fact]
    public void No_acceptance_falls_back_to_AR_and_probes_once_per_interval()
    {
        var policy = Policy((1, 1.0), (2, 1.05), (4, 1.1), (8, 1.2), (16, 1.5), (32, 2.5));
        Assert.True(policy.Next() > 1, "explores before any forward was seen");
        Observe(policy, 200, emitted: 1);                                                // p ≈ 0.02 once the prior is outweighed
        Assert.Equal(1, policy.Choose());
        for (int i = 1; i < BlockSizePolicy.ProbeInterval; i++)
        {
            Assert.Equal(1, policy.Next());
        }

        Assert.Equal(2, policy.Next());                                                  // a probe: the smallest block above 1
        Assert.Equal(1, policy.Next());
    }

    [Fact]
    public void A_curve_where_a_block_costs_its_length_never_beats_AR()
    {
        var policy = Policy((1, 1.0), (2, 2.0), (4, 4.0), (8, 8.0), (16, 16.0));
        Observe(policy, 50, emitted: 12);
        Assert.Equal(1, policy.Choose());
        Assert.All(policy.Candidates, n => Assert.True(policy.ExpectedRate(n) <= 1 + 1e-9));
    }

    [Fact]
    public void Measured_block_rates_replace_the_model_once_enough_blocks_were_seen()
    {
        var policy = Policy((1, 1.0), (2, 1.1), (4, 1.3));
        Observe(policy, 16, emitted: 1, window: 2);    // the model alone now says AR
        Assert.Equal(1, policy.Choose());
        for (int block = 0; block < BlockSizePolicy.MinObservedBlocks; block++)
        {
            policy.RecordForward(4, 4, 4);                                               // 4 tokens for cost 1.3
            policy.RecordBlock(4);
        }

        Assert.Equal(4 / 1.3, policy.ExpectedRate(4), 6);
        Assert.Equal(4, policy.Choose());                                                // 3.08 beats AR's 1 and the model's rate for 2
    }

    [Fact]
    public void A_blocks_first_forward_is_modelled_apart_so_small_blocks_pay_for_their_restarts()
    {
        var policy = Policy((1, 1.0), (2, 1.05), (4, 1.1), (8, 1.2), (16, 1.5));
        for (int block = 0; block < 20; block++)
        {
            policy.RecordForward(16, 16, 1, firstOfBlock: true);                         // initial guesses: nothing accepted
            policy.RecordForward(16, 15, 15);                                            // then the whole rest at once
        }

        Assert.Equal(16, policy.Choose());
        Assert.True(policy.ExpectedRate(4) < policy.ExpectedRate(16) / 2, $"rate(4) {policy.ExpectedRate(4)} vs rate(16) {policy.ExpectedRate(16)}");
        Assert.Equal(4 / (1.1 + 1.075), policy.ExpectedRate(4), 6);                      // 1 token for cost(4), then 3 for cost(3)
    }

    [Fact]
    public void A_block_riding_on_the_prefill_is_charged_only_the_rows_it_added()
    {
        // cost: 1 token 1.0, 16 tokens 3.0, 32 tokens 4.0 (linear beyond 32: 1/16 per token).
        var policy = Policy((1, 1.0), (16, 3.0), (32, 4.0));
        for (int block = 0; block < BlockSizePolicy.MinObservedBlocks; block++)
        {
            policy.RecordForward(16, 16, 4, firstOfBlock: true, prefillTokens: 100);    // [100-token prompt | 15 guesses]: 4 tokens
            policy.RecordForward(16, 12, 12);                                            // the rest in one forward of 12
            policy.RecordBlock(16);
        }

        // The prefill forward adds cost(115) − cost(100) = 15/16 for 15 extra rows, not cost(16) = 3.
        double expected = 16 / (15.0 / 16 + (1.0 + (3.0 - 1.0) * 11 / 15));
        Assert.Equal(expected, policy.ExpectedRate(16), 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => policy.RecordForward(16, 16, 1, prefillTokens: -1));
    }

    [Fact]
    public void A_rate_measured_low_early_is_revisited_through_the_runner_up_and_wins_back()
    {
        var policy = Policy((1, 1.0), (8, 2.0), (16, 3.0));
        for (int block = 0; block < BlockSizePolicy.MinObservedBlocks; block++)
        {
            policy.RecordForward(16, 16, 3, firstOfBlock: true);                         // early blocks of 16: 16 tokens for cost 6
            policy.RecordForward(16, 13, 13);
            policy.RecordBlock(16);
        }

        for (int block = 0; block < BlockSizePolicy.MinObservedBlocks; block++)
        {
            policy.RecordForward(8, 8, 8, firstOfBlock: true);                           // blocks of 8: 8 tokens for cost 2
            policy.RecordBlock(8);
        }

        Assert.Equal(8, policy.Choose());

        // From now on a block of 16 is accepted whole in one forward (16 tokens for cost 3): only the runner-up probes see it.
        int sixteens = 0;
        for (int block = 0; block < 40 * BlockSizePolicy.RunnerUpInterval && policy.Choose() != 16; block++)
        {
            int n = policy.Next();
            sixteens += n == 16 ? 1 : 0;
            policy.RecordForward(n, n, n, firstOfBlock: true);
            policy.RecordBlock(n);
        }

        Assert.Equal(16, policy.Choose());
        Assert.InRange(sixteens, 1, 40);
    }

    [Fact]
    public void Curve_must_include_one_token()
        => Assert.Throws<ArgumentException>(() => Policy((2, 1.0), (4, 1.2)));

    [Fact]
    public void Auto_block_size_keeps_greedy_output_equal_to_AR()
    {
        foreach (var seed in new[] { 1, 2 })
        {
            using var model = TinyLlama.Create(seed);
            var request = new DecodeRequest { PromptIds = new[] { 1, 5 + seed, 17, 33, 4 }, Options = new GenerationOptions { MaxNewTokens = 80 } };
            var ar = Decoders.Autoregressive(model).DecodeToEnd(request);
            Assert.True(ar.Stats.MinLogitMargin > 1e-4, $"seed {seed}: near-tie {ar.Stats.MinLogitMargin} makes the comparison meaningless");
            var options = new JacobiOptions { AutoBlockSize = true };
            var decoder = options.CreateDecoder(model);                                  // measures the model's curve once
            Assert.Equal("jacobi:auto", decoder.Name);
            for (int run = 0; run < 3; run++)                                            // later requests reuse the policy and its acceptance
            {
                var jacobi = decoder.DecodeToEnd(request);
                Assert.Equal(ar.OutputIds, jacobi.OutputIds);
                int outsideBlocks = jacobi.Stats.ForwardPasses - jacobi.Stats.BlockIterations.Sum();
                Assert.InRange(outsideBlocks, run == 0 ? 1 : 0, 1);                        // the prefill, unless it carried the first block (from the 2nd request on)
            }

            // A fixed policy that alternates between its explored block and AR steps gives the same tokens too.
            var fixedPolicy = new BlockSizePolicy(new[] { new ForwardCost(1, 1, 1), new ForwardCost(3, 1.2, 1.2), new ForwardCost(7, 1.4, 1.4) });
            Assert.Equal(ar.OutputIds, options.Build(model, fixedPolicy).DecodeToEnd(request).OutputIds);
        }
    }

    [Fact]
    public void Parse_reads_auto_from_the_spec_and_from_the_default_block_size()
    {
        Assert.True(Assert.IsType<JacobiOptions>(DecoderOptions.Parse("jacobi:auto")).AutoBlockSize);
        Assert.True(Assert.IsType<JacobiOptions>(DecoderOptions.Parse("jacobi", "auto")).AutoBlockSize);
        Assert.Equal("jacobi:auto", DecoderOptions.Parse("jacobi", "auto").Label);
        Assert.Equal(8, Assert.IsType<JacobiOptions>(DecoderOptions.Parse("jacobi", "8")).BlockSize);
        Assert.False(Assert.IsType<JacobiOptions>(DecoderOptions.Parse("jacobi:8", "auto")).AutoBlockSize);

        // The library says what is wrong with the value and names no CLI flag (the command adds its own).
        string message = Assert.Throws<FormatException>(() => DecoderOptions.Parse("jacobi", "big")).Message;
        Assert.Contains("'big'", message);
        Assert.DoesNotContain("--", message);
    }
}
