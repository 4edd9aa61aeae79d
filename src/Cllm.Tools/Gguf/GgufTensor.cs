using System.Collections.Generic;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>One tensor of a GGUF file: its name, ggml shape (ne: fastest dimension first), type and encoded bytes.</summary>
/// <param name="Name">llama.cpp tensor name, e.g. <c>blk.0.attn_q.weight</c>.</param>
/// <param name="Dimensions">ggml ne order: a PyTorch [rows, cols] matrix is [cols, rows].</param>
/// <param name="Type">Storage type.</param>
/// <param name="Data">Encoded bytes (little endian).</param>
internal sealed record GgufTensor(string Name, IReadOnlyList<long> Dimensions, GgufTensorType Type, byte[] Data);
