using System;
using System.Threading;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Cllm;

/// <summary>
/// Runs decode requests one after another on one dedicated thread, so all tensor work of an engine stays on
/// one thread (TorchSharp dispose scopes are thread-local) and callers on any thread, sync or async, only
/// read managed <see cref="DecodeStep"/>s from a channel. Cancelling one request ends only that request.
/// </summary>
internal sealed class DecodeWorker : IDisposable
{
    private sealed record Job(IDecoder Decoder, DecodeRequest Request, ChannelWriter<DecodeStep> Output, CancellationToken CancellationToken);

    private readonly Channel<Job> _queue = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _thread;
    private readonly ILogger _logger;

    public DecodeWorker(string name, ILogger logger)
    {
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Queues a request; its steps arrive on the returned reader, which completes (or faults) when it ends.</summary>
    public ChannelReader<DecodeStep> Submit(IDecoder decoder, DecodeRequest request, CancellationToken cancellationToken)
    {
        var output = Channel.CreateUnbounded<DecodeStep>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
        if (!_queue.Writer.TryWrite(new Job(decoder, request, output.Writer, cancellationToken)))
        {
            throw new ObjectDisposedException(nameof(CllmEngine));
        }

        return output.Reader;
    }

    private void Run()
    {
        while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (_queue.Reader.TryRead(out var job))
            {
                Execute(job);
            }
        }
    }

    private void Execute(Job job)
    {
        using var activity = CllmTelemetry.ActivitySource.StartActivity("cllm.decode");
        activity?.SetTag("cllm.decoder", job.Decoder.Name);
        activity?.SetTag("cllm.prompt_tokens", job.Request.PromptIds.Count);
        try
        {
            job.CancellationToken.ThrowIfCancellationRequested();
            foreach (var step in job.Decoder.Decode(job.Request, job.CancellationToken))
            {
                if (step.Stats is { } stats)
                {
                    CllmTelemetry.RecordRequest(job.Decoder.Name, stats);
                    Log.RequestFinished(_logger, job.Decoder.Name, stats.GeneratedTokens, stats.ForwardPasses, stats.TokensPerForward, step.Finish, stats.Elapsed.TotalMilliseconds);
                    activity?.SetTag("cllm.generated_tokens", stats.GeneratedTokens);
                    activity?.SetTag("cllm.forward_passes", stats.ForwardPasses);
                }

                job.Output.TryWrite(step);                                                  // after the figures are recorded
            }

            job.Output.TryComplete();
        }
        catch (Exception ex)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Message);
            job.Output.TryComplete(ex);
        }
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _thread.Join();
    }
}
