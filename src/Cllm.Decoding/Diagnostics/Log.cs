using Microsoft.Extensions.Logging;

namespace Cllm;

/// <summary>Cllm.Decoding log messages; event ids 2000–2999.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Loaded {ModelType} model from {Directory}: {Parameters:N0} parameters, {Layers} layers, vocabulary {Vocab}, context {Context}, in {Milliseconds:F0} ms")]
    public static partial void ModelLoaded(ILogger logger, string modelType, string directory, long parameters, int layers, int vocab, int context, double milliseconds);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Quantized: {Summary}")]
    public static partial void Quantized(ILogger logger, string summary);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Request finished ({Decoder}): {Tokens} tokens, {Forwards} forward passes, {TokensPerForward:F2} tokens/forward, {Finish}, {Milliseconds:F0} ms")]
    public static partial void RequestFinished(ILogger logger, string decoder, int tokens, int forwards, double tokensPerForward, FinishReason finish, double milliseconds);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "Batch budget: the forward-cost curve is measured ({Milliseconds:F0} ms of measuring forwards, {BusyMilliseconds:F0} ms of them between requests' forwards)")]
    public static partial void CostCurveMeasured(ILogger logger, double milliseconds, double busyMilliseconds);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Batch budget: measuring the forward-cost curve failed, so batches of several requests run without drafts: {Reason}")]
    public static partial void CostCurveFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Trace, Message = "Prompt: {Prompt}")]
    public static partial void Prompt(ILogger logger, string prompt);
}
