using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Channels;
using Cllm.Core;
using Microsoft.Extensions.Logging;

namespace Cllm;

/// <summary>
/// An engine's one decode thread, batching continuously: requests join a <see cref="DecodeBatch"/> between forwards (up
/// to the maximum batch size; the rest wait in arrival order) and leave it when they finish or are cancelled, and every
/// forward advances all of them (<see cref="DraftVerifyDecoder.Step"/>), their draft lengths capped by
/// <see cref="BatchBudget"/>. All tensor work of an engine stays on this thread (TorchSharp dispose scopes are
/// thread-local); callers on any thread, sync or async, only read managed <see cref="DecodeStep"/>s from a channel.
/// Cancelling one request ends only that request. A request for a decoder that is not one of the engine's own
/// draft-verify decoders (a custom <see cref="IDecoder"/>) runs alone, between forwards, to its end.
/// </summary>
internal sealed class DecodeWorker : IDisposable
{
    private sealed record Job(IDecoder Decoder, ResolvedRequest Request, ChannelWriter<DecodeStep> Output, CancellationToken CancellationToken);

    private sealed record Running(Job Job, DecodeSession Session, Activity? Activity);

    private readonly Channel<Job> _queue = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _thread;
    private readonly ILogger _logger;
    private readonly LlamaForCausalLM _model;
    private readonly int _maxBatch;
    private readonly int _prefillChunk;
    private readonly bool _sharePrefixes;
    private readonly BatchBudget _budget;
    private TimeSpan _measuringIdle, _measuringBusy, _forwardsWhileMeasuring;             // the budget's cost measurement: its forwards while idle and busy, and the requests' forwards meanwhile

    /// <summary>While requests run, the budget's cost measurement takes at most about this share of the decode thread's busy time.</summary>
    private const double MeasureShare = 0.25;

    /// <param name="name">The thread's name.</param>
    /// <param name="model">The engine's model: requests of decoders over it are batched.</param>
    /// <param name="maxBatchSize">Requests decoded together at most; 1 decodes one at a time.</param>
    /// <param name="prefillChunk">Prompt tokens prefilled per forward at most while other requests share the batch (a request alone prefills its whole prompt at once).</param>
    /// <param name="sharePrefixes">Whether a joining request reuses the cached prompt prefix it shares with another request of the batch.</param>
    /// <param name="logger">Request logs.</param>
    public DecodeWorker(string name, LlamaForCausalLM model, int maxBatchSize, int prefillChunk, bool sharePrefixes, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefillChunk, 1);
        _model = model;
        _maxBatch = maxBatchSize;
        _prefillChunk = prefillChunk;
        _sharePrefixes = sharePrefixes;
        _logger = logger;
        _budget = BatchBudget.For(model);
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Whether the batch budget's cost curve is being measured, between forwards and while idle (read from any thread; a snapshot).</summary>
    public bool MeasuringCost => _budget.Measuring;

    /// <summary>Whether the batch budget's cost curve has been measured (read from any thread).</summary>
    public bool CostCurveReady => _budget.Ready;

    /// <summary>Queues a request, resolved on the caller's thread; its steps arrive on the returned reader, which completes (or faults) when it ends.</summary>
    public ChannelReader<DecodeStep> Submit(IDecoder decoder, ResolvedRequest request, CancellationToken cancellationToken)
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
        var running = new List<Running>();
        var sessions = new List<DecodeSession>();
        DecodeBatch? batch = null;
        try
        {
            while (true)
            {
                // Wait for work only when nothing runs (an idle engine first goes on with a forward-cost measurement under
                // way, a forward at a time, until a request arrives); otherwise admit whatever arrived, up to the batch size.
                if (running.Count == 0)
                {
                    while (_budget.Measuring && !_queue.Reader.TryPeek(out _) && !_queue.Reader.Completion.IsCompleted)
                    {
                        MeasureCost(idle: true);
                    }

                    if (!_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                    {
                        return;
                    }
                }

                while (running.Count < _maxBatch && _queue.Reader.TryRead(out var job))
                {
                    if (job.Decoder is DraftVerifyDecoder own && ReferenceEquals(own.Model, _model))
                    {
                        Admit(job, own, running, ref batch);
                    }
                    else
                    {
                        Execute(job);                                                      // a custom decoder runs alone
                    }
                }

                // Cancelled requests leave between forwards.
                for (int i = running.Count - 1; i >= 0; i--)
                {
                    if (running[i].Job.CancellationToken.IsCancellationRequested)
                    {
                        End(running[i], new OperationCanceledException(running[i].Job.CancellationToken), batch!);
                        running.RemoveAt(i);
                    }
                }

                if (running.Count == 0)
                {
                    continue;
                }

                sessions.Clear();
                foreach (var r in running)
                {
                    sessions.Add(r.Session);
                }

                DecodeStep?[] steps;
                TimeSpan forwardTime;
                int cap;
                try
                {
                    // A long prompt joining others is prefilled in chunks, so their next tokens never wait for all of it.
                    int chunk = sessions.Count > 1 ? _prefillChunk : int.MaxValue;
                    cap = _budget.DepthCap(sessions, batch!.Length, chunk);
                    bool prefill = false;
                    foreach (var session in sessions)
                    {
                        prefill |= session.NextInputs(chunk) > 1;
                    }

                    long start = Stopwatch.GetTimestamp();
                    steps = DraftVerifyDecoder.Step(batch!, sessions, cap, chunk);
                    forwardTime = Stopwatch.GetElapsedTime(start);
                    int emitted = 0;
                    foreach (var step in steps)
                    {
                        emitted += step?.Tokens.Count ?? 0;
                    }

                    _budget.RecordForward(sessions.Count, cap, emitted, forwardTime.TotalSeconds, prefill);
                }
                catch (Exception ex)
                {
                    // A failed forward fails every request in it; the batch starts afresh.
                    foreach (var r in running)
                    {
                        End(r, ex, batch!);
                    }

                    running.Clear();
                    continue;
                }

                for (int i = running.Count - 1; i >= 0; i--)
                {
                    var r = running[i];
                    if (r.Session.Last is { Chain: true } last)
                    {
                        _budget.Record(last.Drafted, last.Accepted, cap);
                    }

                    if (steps[i] is not { } step)
                    {
                        continue;                                                          // a prefill chunk: nothing to show yet
                    }

                    Report(r.Session.Decoder, step, r.Activity);
                    r.Job.Output.TryWrite(step);                                           // after the figures are recorded
                    if (step.Finish != FinishReason.None)
                    {
                        End(r, null, batch!);
                        running.RemoveAt(i);
                    }
                }

                // The batch budget's cost curve is measured a forward at a time between the requests' forwards, within a
                // share of the time, so that no request waits for the whole measurement (seconds on a large model).
                if (_budget.Measuring)
                {
                    _forwardsWhileMeasuring += forwardTime;
                    MeasureCost(idle: false);
                }
            }
        }
        finally
        {
            foreach (var r in running)
            {
                End(r, new ObjectDisposedException(nameof(CllmEngine)), batch!);
            }

            batch?.Dispose();
            _budget.Dispose();
        }
    }

    /// <summary>
    /// Runs one forward of the batch budget's cost-curve measurement, if one is under way: always while the engine is
    /// <paramref name="idle"/>; while requests run, only as long as the measuring forwards run among them stay within
    /// about <see cref="MeasureShare"/> of the time (checked before each; one forward may overshoot). A failure is
    /// logged, not thrown.
    /// </summary>
    private void MeasureCost(bool idle)
    {
        if (!_budget.Measuring || (!idle && _measuringBusy > _forwardsWhileMeasuring * (MeasureShare / (1 - MeasureShare))))
        {
            return;
        }

        long start = Stopwatch.GetTimestamp();
        try
        {
            bool ready = _budget.MeasureStep();
            var took = Stopwatch.GetElapsedTime(start);
            if (idle)
            {
                _measuringIdle += took;
            }
            else
            {
                _measuringBusy += took;
            }

            if (ready)
            {
                Log.CostCurveMeasured(_logger, (_measuringIdle + _measuringBusy).TotalMilliseconds, _measuringBusy.TotalMilliseconds);
            }
        }
        catch (Exception ex)
        {
            Log.CostCurveFailed(_logger, ex.Message);
        }
    }

    /// <summary>Starts a job's session in the batch (created on first use), or fails the job when it cannot start.</summary>
    private void Admit(Job job, DraftVerifyDecoder decoder, List<Running> running, ref DecodeBatch? batch)
    {
        if (job.CancellationToken.IsCancellationRequested)
        {
            job.Output.TryComplete(new OperationCanceledException(job.CancellationToken));
            return;
        }

        DecodeSession session;
        try
        {
            session = decoder.Start(job.Request, job.CancellationToken);
            batch ??= new DecodeBatch(_model, Math.Min(_maxBatch, 4) * session.CacheSlots, _sharePrefixes);
            batch.Add(session);
        }
        catch (Exception ex)
        {
            job.Output.TryComplete(ex);
            return;
        }

        // Each request's activity is a root of its own: requests overlap on this thread, so none may become Current.
        var previous = Activity.Current;
        var activity = CllmTelemetry.ActivitySource.StartActivity("cllm.decode", ActivityKind.Internal, parentContext: default);
        Activity.Current = previous;
        activity?.SetTag("cllm.decoder", decoder.Name);
        activity?.SetTag("cllm.prompt_tokens", job.Request.PromptIds.Length);
        running.Add(new Running(job, session, activity));
    }

    /// <summary>Ends a running request: it leaves the batch and its reader completes (or faults with <paramref name="error"/>).</summary>
    private static void End(Running running, Exception? error, DecodeBatch batch)
    {
        batch.Remove(running.Session);
        if (error is not null)
        {
            running.Activity?.SetStatus(ActivityStatusCode.Error, error.Message);
        }

        running.Activity?.Dispose();
        running.Job.Output.TryComplete(error);
    }

    /// <summary>Records a request's figures (metrics, log, activity tags) when <paramref name="step"/> is its last; called before the step is written, so they are in when a caller sees it.</summary>
    private void Report(string decoder, DecodeStep step, Activity? activity)
    {
        if (step.Stats is not { } stats)
        {
            return;
        }

        CllmTelemetry.RecordRequest(decoder, stats);
        Log.RequestFinished(_logger, decoder, stats.GeneratedTokens, stats.ForwardPasses, stats.TokensPerForward, step.Finish, stats.Elapsed.TotalMilliseconds);
        activity?.SetTag("cllm.generated_tokens", stats.GeneratedTokens);
        activity?.SetTag("cllm.forward_passes", stats.ForwardPasses);
    }

    /// <summary>Runs a request of a decoder outside the batch to its end.</summary>
    private void Execute(Job job)
    {
        using var activity = CllmTelemetry.ActivitySource.StartActivity("cllm.decode");
        activity?.SetTag("cllm.decoder", job.Decoder.Name);
        activity?.SetTag("cllm.prompt_tokens", job.Request.PromptIds.Length);
        try
        {
            job.CancellationToken.ThrowIfCancellationRequested();
            foreach (var step in job.Decoder.Decode(job.Request.ToRequest(), job.CancellationToken))   // the caller's own decoder takes the public form
            {
                Report(job.Decoder.Name, step, activity);
                job.Output.TryWrite(step);                                                  // after the figures are recorded
            }

            job.Output.TryComplete();
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            job.Output.TryComplete(ex);
        }
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _thread.Join();
    }
}
