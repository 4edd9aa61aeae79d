using Cllm.Tools;
namespace Cllm.Tests.Hub;

/// <summary>A file of the <see cref="FakeHub"/> repository; <see cref="ListedSha256"/> is what the API claims.</summary>
internal sealed record FakeFile(string Path, byte[] Content, bool Lfs, string ListedSha256, bool ListSize);
