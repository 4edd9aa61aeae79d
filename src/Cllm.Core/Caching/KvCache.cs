using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// Preallocated key/value cache for one request: per layer K and V of shape (B, Hkv, Capacity, D).
/// Only the first <see cref="Length"/> slots are live, so cutting the cache back after a rejected
/// draft is O(1) (<see cref="TruncateTo"/>). The cache owns its storage, outside every dispose scope.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;
    private readonly ScalarType _dtype;
    private readonly Device? _device;
    private readonly int _kvHeads, _headDim;
    private nint[]? _data;                 // per layer: keys' then values' storage address, for CachedAttention (CPU, bfloat16)
    private bool _disposed;

    public KvCache(LlamaConfig config, int capacity, int batch = 1, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        Capacity = capacity;
        Batch = batch;
        _dtype = dtype;
        _device = device;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        _keys = new Tensor[config.NumHiddenLayers];
        _values = new Tensor[config.NumHiddenLayers];
        for (int i = 0; i < _keys.Length; i++)
        {
            _keys[i] = zeros(new long[] { batch, config.NumKeyValueHeads, capacity, config.HeadDim }, dtype: dtype, device: device).DetachFromDisposeScope();
            _values[i] = zeros(new long[] { batch, config.NumKeyValueHeads, capacity, config.HeadDim }, dtype: dtype, device: device).DetachFromDisposeScope();
        }
    }

    /// <summary>Number of live positions (tokens whose keys and values are cached).</summary>
    public int Length { get; private set; }

    /// <summary>Number of positions the storage holds.</summary>
    public int Capacity { get; private set; }

    /// <summary>Batch size B the cache was allocated for.</summary>
    public int Batch { get; }

    /// <summary>
    /// Writes k, v (B, Hkv, T, D) of <paramref name="layer"/> at slots [Length, Length + T) and returns
    /// views of slots [0, Length + T). <see cref="Length"/> moves only on <see cref="Advance"/>, once all layers are written.
    /// </summary>
    internal (Tensor Keys, Tensor Values) Write(int layer, Tensor k, Tensor v) => Write(layer, k, v, k.shape[2]);

    /// <summary><see cref="Write(int, Tensor, Tensor)"/> for callers that know T (reading a shape is a native call).</summary>
    internal (Tensor Keys, Tensor Values) Write(int layer, Tensor k, Tensor v, long t)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _keys[layer].narrow(2, Length, t).copy_(k);
        _values[layer].narrow(2, Length, t).copy_(v);
        return (_keys[layer].narrow(2, 0, Length + t), _values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>
    /// <see cref="Write(int, Tensor, Tensor, long)"/> for <see cref="CachedAttention"/> (CPU, bfloat16, no tensor
    /// made): key (b, t, j, d) of the new tokens at <c>k[(b·T + t)·row + j·D + d]</c>, values alike at v. Returns the
    /// addresses of this layer's (B, Hkv, Capacity, D) key and value storage.
    /// </summary>
    internal unsafe (nint Keys, nint Values) Write(int layer, ushort* k, ushort* v, long row, long batch, int t)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_dtype != ScalarType.BFloat16 || batch != Batch)
        {
            throw new InvalidOperationException($"this KV cache holds {Batch} × {_dtype}; the forward writes {batch} × BFloat16.");
        }

        if (_data is null)
        {
            var data = new nint[2 * _keys.Length];
            for (int i = 0; i < _keys.Length; i++)
            {
                fixed (byte* keys = _keys[i].bytes)
                fixed (byte* values = _values[i].bytes)
                {
                    (data[2 * i], data[2 * i + 1]) = ((nint)keys, (nint)values);
                }
            }

            _data = data;
        }

        ushort* keyData = (ushort*)_data[2 * layer];
        ushort* valueData = (ushort*)_data[2 * layer + 1];
        long bytes = (long)_headDim * sizeof(ushort);
        for (int b = 0; b < Batch; b++)
        {
            for (int j = 0; j < _kvHeads; j++)
            {
                long to = ((long)(b * _kvHeads + j) * Capacity + Length) * _headDim;
                for (int i = 0; i < t; i++, to += _headDim)
                {
                    long from = ((long)b * t + i) * row + (long)j * _headDim;
                    Buffer.MemoryCopy(k + from, keyData + to, bytes, bytes);
                    Buffer.MemoryCopy(v + from, valueData + to, bytes, bytes);
                }
            }
        }

        return (_data[2 * layer], _data[2 * layer + 1]);
    }

    /// <summary>Throws unless <paramref name="tokens"/> more positions fit.</summary>
    internal void EnsureRoom(int tokens)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Length + tokens > Capacity)
        {
            throw new InvalidOperationException($"KV cache full: {Length} cached + {tokens} new tokens exceed its capacity of {Capacity}.");
        }
    }

    /// <summary>Marks the <paramref name="tokens"/> positions written by the last forward as live.</summary>
    internal void Advance(int tokens) => Length += tokens;

    /// <summary>Cuts the cache back to its first <paramref name="length"/> positions, in O(1).</summary>
    public void TruncateTo(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        Length = length;
    }

    /// <summary>
    /// Keeps, in order, the slots <c>start + offsets[i]</c> and moves them to <c>start + i</c>; everything after is dropped.
    /// Lookahead uses this to keep the accepted branch of a tree-shaped draft. Offsets must be increasing.
    /// </summary>
    public void KeepSlots(int start, IReadOnlyList<int> offsets)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        bool contiguous = true;
        for (int i = 0; i < offsets.Count; i++)
        {
            if (start + offsets[i] >= Length || (i > 0 && offsets[i] <= offsets[i - 1]))
            {
                throw new ArgumentException("slot offsets must be increasing and inside the cache.", nameof(offsets));
            }

            contiguous &= offsets[i] == i;
        }

        if (!contiguous)
        {
            using var scope = NewDisposeScope();
            var index = tensor(ToLongs(offsets, start), device: _keys[0].device);
            for (int layer = 0; layer < _keys.Length; layer++)
            {
                var k = _keys[layer].index_select(2, index);   // (B, Hkv, n, D), a copy
                var v = _values[layer].index_select(2, index);
                _keys[layer].narrow(2, start, offsets.Count).copy_(k);
                _values[layer].narrow(2, start, offsets.Count).copy_(v);
            }
        }

        Length = start + offsets.Count;
    }

    /// <summary>Reallocates the storage for <paramref name="capacity"/> positions, keeping the live ones (a batch of requests grows its shared cache).</summary>
    internal void Grow(int capacity)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, Capacity);
        using var scope = NewDisposeScope();                                               // the narrowed views
        for (int i = 0; i < _keys.Length; i++)
        {
            _keys[i] = Regrow(_keys[i]);
            _values[i] = Regrow(_values[i]);
        }

        Capacity = capacity;
        _data = null;

        Tensor Regrow(Tensor old)
        {
            var shape = old.shape;
            shape[2] = capacity;
            var grown = zeros(shape, dtype: _dtype, device: _device).DetachFromDisposeScope();
            grown.narrow(2, 0, Length).copy_(old.narrow(2, 0, Length));
            old.Dispose();
            return grown;
        }
    }

    /// <summary>Empties the cache for a new request.</summary>
    public void Reset() => Length = 0;

    private static long[] ToLongs(IReadOnlyList<int> offsets, int start)
    {
        var result = new long[offsets.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = start + offsets[i];
        }

        return result;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var t in _keys)
        {
            t.Dispose();
        }

        foreach (var t in _values)
        {
            t.Dispose();
        }
    }
}
