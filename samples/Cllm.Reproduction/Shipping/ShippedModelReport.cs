namespace Cllm.Reproduction.Shipping;

/// <summary>How a model survived being stored in half precision and loaded back into float32.</summary>
public sealed record ShippedModelReport
{
    /// <summary>Folder name under the models folder (sql-base, sql-cllm).</summary>
    public required string Name { get; init; }

    /// <summary>Stored floating type (float16 or bfloat16).</summary>
    public required string StoredAs { get; init; }

    /// <summary>Size of model.safetensors in bytes.</summary>
    public long WeightBytes { get; init; }

    /// <summary>Test tasks decoded.</summary>
    public int Tasks { get; init; }

    /// <summary>Greedy AR outputs of the reloaded model identical to the float32 model's.</summary>
    public int ArEqualToFloat32 { get; init; }

    /// <summary>Greedy Jacobi outputs (recommended block size) of the reloaded model identical to its own AR outputs.</summary>
    public int JacobiEqualToAr { get; init; }

    /// <summary>Execution accuracy of the float32 model (AR).</summary>
    public double Float32Execution { get; init; }

    /// <summary>Execution accuracy of the reloaded model (AR).</summary>
    public double ShippedExecution { get; init; }

    /// <summary>Tokens per forward of the reloaded model's Jacobi decoding.</summary>
    public double JacobiTokensPerForward { get; init; }

    /// <summary>The Jacobi block size recommended for this model (from the forward-cost curve).</summary>
    public int BlockSize { get; init; }
}
