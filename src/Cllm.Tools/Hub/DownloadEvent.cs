using Cllm.Core;
namespace Cllm.Tools;

/// <summary>What a <see cref="DownloadProgress"/> report is about.</summary>
public enum DownloadEvent
{
    /// <summary>A file's transfer begins (or resumes from a partial file).</summary>
    FileStarted,

    /// <summary>More bytes of the current file arrived.</summary>
    FileBytes,

    /// <summary>The file is complete and its size and hash are being checked.</summary>
    Verifying,

    /// <summary>The file was verified and moved into place.</summary>
    FileCompleted,

    /// <summary>The file was already present with the right size (and hash) and was not downloaded.</summary>
    FileSkipped,

    /// <summary>A transient failure; the transfer will be retried after a delay. <see cref="DownloadProgress.Message"/> says why.</summary>
    Retrying,
}
