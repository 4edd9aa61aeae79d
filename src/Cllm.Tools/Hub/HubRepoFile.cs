using Cllm.Core;
namespace Cllm.Tools;

/// <summary>One file of a repository as the hub lists it.</summary>
/// <param name="Path">Repository path, '/' separated.</param>
/// <param name="Size">Size in bytes, when listed.</param>
/// <param name="Sha256">LFS SHA-256 (lowercase hex) for LFS files; null for plain git files.</param>
internal sealed record HubRepoFile(string Path, long? Size, string? Sha256);
