using System.Threading;
using System.Threading.Tasks;
using Cllm.Tests.TestKit;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Modeling;

/// <summary>
/// Random test models depend on their seed only: tests run in parallel, and a model drawn from torch's process-wide
/// generator took whatever state another test had left, so an exactness failure could not be reproduced.
/// </summary>
public class TinyLlamaSeedTests
{
    [Fact]
    public async Task The_same_seed_gives_the_same_weights_while_another_thread_draws_from_the_global_generator()
    {
        using var first = TinyLlama.Create(5);
        using var stop = new CancellationTokenSource();
        var churn = Task.Run(() =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                torch.manual_seed(i);
                using var scope = NewDisposeScope();
                randn(64, 64);
            }
        });

        using var second = TinyLlama.Create(5);
        using var other = TinyLlama.Create(6);
        stop.Cancel();
        await churn;

        var a = first.state_dict();
        var b = second.state_dict();
        var c = other.state_dict();
        Assert.Equal(a.Count, b.Count);
        using var scope = NewDisposeScope();
        bool anyDifferent = false;
        foreach (var (name, tensor) in a)
        {
            Assert.True(tensor.eq(b[name]).all().item<bool>(), $"{name} differs between two models of seed 5");
            anyDifferent |= !tensor.eq(c[name]).all().item<bool>();
        }

        Assert.True(anyDifferent, "seeds 5 and 6 gave the same weights");
    }
}
