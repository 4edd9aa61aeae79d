namespace Cllm.Training;

/// <summary>Marker for the Cllm.Training assembly.</summary>
internal static class TrainingAssembly
{
}
