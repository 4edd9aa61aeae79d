namespace Cllm;
internal static class Placeholder2 { }
