namespace Cllm.Tests.Reliability;

/// <summary>One place where TorchSharp may create a Scalar that nothing keeps alive: file (repository-relative), 1-based line, why, and the code.</summary>
internal sealed record ScalarSafetyFinding(string File, int Line, string Rule, string Code)
{
    public override string ToString() => $"{File}:{Line}: {Rule}: {Code}";
}
