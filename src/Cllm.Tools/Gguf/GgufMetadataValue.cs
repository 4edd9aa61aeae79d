using System;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>One GGUF metadata value: a scalar, a string, or an array of one element type.</summary>
/// <param name="Type">Value type; <see cref="GgufValueType.Array"/> for arrays.</param>
/// <param name="Value">uint, int, float, bool, ulong, string, or for arrays a <c>string[]</c>, <c>float[]</c>, <c>int[]</c>.</param>
/// <param name="ElementType">The element type of an array; unused otherwise.</param>
internal sealed record GgufMetadataValue(GgufValueType Type, object Value, GgufValueType ElementType = GgufValueType.UInt8)
{
    public static GgufMetadataValue Of(string value) => new(GgufValueType.String, value);

    public static GgufMetadataValue Of(uint value) => new(GgufValueType.UInt32, value);

    public static GgufMetadataValue Of(float value) => new(GgufValueType.Float32, value);

    public static GgufMetadataValue Of(bool value) => new(GgufValueType.Bool, value);

    public static GgufMetadataValue Of(string[] values) => new(GgufValueType.Array, values, GgufValueType.String);

    public static GgufMetadataValue Of(float[] values) => new(GgufValueType.Array, values, GgufValueType.Float32);

    public static GgufMetadataValue Of(int[] values) => new(GgufValueType.Array, values, GgufValueType.Int32);

    public T As<T>() => Value is T t ? t : throw new InvalidCastException($"GGUF value is {Value.GetType().Name}, not {typeof(T).Name}.");
}
