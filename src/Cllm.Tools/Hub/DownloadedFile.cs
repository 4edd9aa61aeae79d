using Cllm.Core;
namespace Cllm.Tools;

/// <summary>One file of a finished download.</summary>
/// <param name="RepoPath">Path of the file in the repository, with '/' separators.</param>
/// <param name="LocalPath">Full path of the file on disk.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Sha256">The LFS SHA-256 the file was verified against (lowercase hex), or null for a plain git file.</param>
/// <param name="Skipped">True when the file was already present and complete, so nothing was transferred.</param>
public sealed record DownloadedFile(string RepoPath, string LocalPath, long Size, string? Sha256, bool Skipped);
