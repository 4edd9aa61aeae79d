using System;
using System.Collections.Generic;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm;

/// <summary>
/// Steps 3–5 of the draft-verify loop for any number of requests at once: the sessions' planned forwards run as one
/// packed sequence through the model, each session's draft is verified on its own rows, and one KV cache, shared by
/// all sessions, keeps what each accepted. Ragged by construction: every session brings its own inputs (a whole prompt
/// when it joins, or a chunk of it, else its pending token) and its own draft (chain or tree, any length, none for AR).
/// </summary>
/// <remarks>
/// The packed forward is <c>[bodies | pending₁ draft₁ | pending₂ draft₂ | …]</c>: first every session's uncached
/// inputs but the last (prompts, or prompt chunks, of sessions prefilling now), then per session its pending token (a
/// chunk's last token) and its draft, so that the logits of the last Σ(1 + Dₛ) positions are all the verification needs
/// (a chunk that is not its prompt's last is not verified: all its tokens are kept). Every token carries its session's own
/// position, and the mask lets it see only its session's cached slots, earlier inputs and draft ancestors, so each
/// session computes what it would alone (up to float rounding; see docs/serving.md). Cache slots are owned by the
/// session that wrote them; a finished session's slots are dead until the cache is compacted, which happens when dead
/// slots outnumber live ones or room is short. With one session owning the whole cache and a chain draft, the forward
/// is exactly the single-request one (default positions, causal mask).
/// </remarks>
internal sealed class DecodeBatch : IDisposable
{
    private sealed class Member
    {
        public required int Id { get; init; }

        public int Cached { get; set; }                                                    // live cache slots the session owns
    }

    private readonly LlamaForCausalLM _model;
    private readonly Dictionary<DecodeSession, Member> _members = new();
    private readonly List<int> _owners = new();                                            // per cache slot: its session's id, −1 once that session left
    private KvCache _cache;
    private int _dead;
    private int _nextId;

    /// <param name="model">The model; all sessions must decode with it.</param>
    /// <param name="capacity">Initial cache slots; the cache grows when sessions need more.</param>
    public DecodeBatch(LlamaForCausalLM model, int capacity)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _cache = model.CreateCache(Math.Max(1, capacity));
    }

    /// <summary>Sessions in the batch.</summary>
    public int Count => _members.Count;

    /// <summary>Cache slots in use (live and dead): what every token of the next forward attends over, masked.</summary>
    public int Length => _cache.Length;

    /// <summary>Cache slots allocated (live, dead and free).</summary>
    public int Capacity => _cache.Capacity;

    /// <summary>Adds a session that has not run yet.</summary>
    public void Add(DecodeSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (!session.Fresh)
        {
            throw new ArgumentException("only a session that has not run yet can join a batch.", nameof(session));
        }

        _members.Add(session, new Member { Id = _nextId++ });
    }

    /// <summary>Removes a session (finished, cancelled or failed); its cache slots become dead.</summary>
    public void Remove(DecodeSession session)
    {
        if (!_members.Remove(session, out var member))
        {
            return;
        }

        if (_members.Count == 0)
        {
            _cache.Reset();
            _owners.Clear();
            _dead = 0;
            return;
        }

        for (int i = 0; i < _owners.Count; i++)
        {
            if (_owners[i] == member.Id)
            {
                _owners[i] = -1;
            }
        }

        _dead += member.Cached;
    }

    /// <summary>
    /// One forward over the planned <paramref name="inputs"/> and <paramref name="drafts"/> of <paramref name="sessions"/>
    /// (members, each at most once), verified per session. All tensors live in this call's dispose scope.
    /// </summary>
    public VerifiedStep[] Forward(IReadOnlyList<DecodeSession> sessions, IReadOnlyList<IReadOnlyList<int>> inputs, IReadOnlyList<Draft> drafts)
    {
        int count = sessions.Count;
        var members = new Member[count];
        int bodies = 0, rows = 0;
        for (int s = 0; s < count; s++)
        {
            members[s] = _members[sessions[s]];
            bodies += inputs[s].Count - 1;
            rows += 1 + drafts[s].Count;
        }

        int t = bodies + rows;
        MakeRoom(t);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        int past = _cache.Length;

        // Packed ids: every body, then per session its pending token and draft (rowStart[s] indexes the latter block).
        var ids = new long[t];
        var bodyStart = new int[count];
        var rowStart = new int[count];
        for (int s = 0, b = 0, r = bodies; s < count; s++)
        {
            bodyStart[s] = b;
            rowStart[s] = r - bodies;
            for (int i = 0; i < inputs[s].Count - 1; i++)
            {
                ids[b++] = inputs[s][i];
            }

            ids[r++] = inputs[s][^1];
            for (int i = 0; i < drafts[s].Count; i++)
            {
                ids[r++] = drafts[s].Tokens[i];
            }
        }

        Tensor? positions = null, mask = null;
        bool alone = count == 1 && _members.Count == 1 && _dead == 0;                     // the session owns every cached slot
        if (!alone || !drafts[0].IsChain)
        {
            (positions, mask) = Layout(members, inputs, drafts, past, t, bodies, bodyStart, rowStart);
        }

        var input = tensor(ids, dtype: ScalarType.Int64, device: _model.Device).view(1, t);
        var logits = _model.Forward(input, _cache, positions, mask, lastPositions: rows)[0];   // (R, V): per session pending, then draft
        var (predictions, margins) = TopTwo(logits);

        // Verify per session, and collect the slots to keep (relative to past, increasing): every body, then per session
        // its pending token and its accepted draft nodes.
        var results = new VerifiedStep[count];
        var keep = new List<int>(t);
        var keptOwners = new List<int>(t);
        for (int s = 0; s < count; s++)
        {
            for (int i = 0; i < inputs[s].Count - 1; i++)
            {
                keep.Add(bodyStart[s] + i);
                keptOwners.Add(members[s].Id);
            }
        }

        for (int s = 0; s < count; s++)
        {
            var draft = drafts[s];
            int first = rowStart[s];
            int pendingAt = members[s].Cached + inputs[s].Count - 1;                        // the pending token's position
            for (int i = 0; i <= draft.Count; i++)
            {
                if (!double.IsFinite(margins[first + i]))
                {
                    // topk ranks NaN above every number, so a row holding NaN or +Inf has a non-finite top-2 margin.
                    int position = i == 0 ? pendingAt : pendingAt + draft.Depth(i - 1);
                    throw new InvalidOperationException(System.FormattableString.Invariant(
                        $"the model produced non-finite logits (NaN/Inf) at position {position}: check the weights."));
                }
            }

            if (sessions[s].PlannedChunk)
            {
                // A prefill chunk that is not the last: all its tokens stay cached, nothing is verified or drawn.
                keep.Add(bodies + first);
                keptOwners.Add(members[s].Id);
                members[s].Cached += inputs[s].Count;
                results[s] = new VerifiedStep(Array.Empty<int>(), -1, Array.Empty<int>(), double.PositiveInfinity);
                continue;
            }

            var own = predictions.AsSpan(first, 1 + draft.Count).ToArray();
            var sampler = sessions[s].Sampler;
            var (path, bonus) = sampler.IsGreedy
                ? TreeVerifier.Greedy(draft, own)
                : TreeVerifier.Sampled(draft, j => sampler.Distribution(logits[first + j]), sampler);
            double minMargin = margins[first];                                             // the position that chose the first emitted token
            keep.Add(bodies + first);
            keptOwners.Add(members[s].Id);
            for (int i = 0; i < path.Length; i++)
            {
                minMargin = Math.Min(minMargin, margins[first + 1 + path[i]]);
                keep.Add(bodies + first + 1 + path[i]);
                keptOwners.Add(members[s].Id);
            }

            members[s].Cached += inputs[s].Count + path.Length;
            results[s] = new VerifiedStep(path, bonus, own, minMargin);
        }

        if (keep.Count < t)
        {
            _cache.KeepSlots(past, keep);
        }

        _owners.AddRange(keptOwners);
        return results;
    }

    /// <summary>
    /// Positions (T) and mask (T, past + T) of a packed forward: a body or pending token sees its session's cached slots
    /// and its session's inputs up to itself; a draft node sees those, the pending token, its ancestors and itself, at
    /// the pending token's position + its depth.
    /// </summary>
    private (Tensor Positions, Tensor Mask) Layout(Member[] members, IReadOnlyList<IReadOnlyList<int>> inputs, IReadOnlyList<Draft> drafts, int past, int t, int bodies, int[] bodyStart, int[] rowStart)
    {
        int width = past + t;
        var pos = new long[t];
        var allowed = new bool[t * width];
        var template = new bool[width];
        for (int s = 0; s < members.Length; s++)
        {
            // The session's own cached slots, shared by all its rows.
            Array.Clear(template);
            for (int slot = 0; slot < past; slot++)
            {
                template[slot] = _owners[slot] == members[s].Id;
            }

            int cached = members[s].Cached;
            int body = inputs[s].Count - 1;
            for (int i = 0; i < body; i++)
            {
                int row = bodyStart[s] + i;
                template[past + row] = true;                                                // inputs up to itself
                template.AsSpan().CopyTo(allowed.AsSpan(row * width, width));
                pos[row] = cached + i;
            }

            int pendingRow = bodies + rowStart[s];
            long pendingAt = cached + body;
            template[past + pendingRow] = true;
            template.AsSpan().CopyTo(allowed.AsSpan(pendingRow * width, width));
            pos[pendingRow] = pendingAt;
            var draft = drafts[s];
            for (int i = 0; i < draft.Count; i++)
            {
                int row = pendingRow + 1 + i;
                template.AsSpan().CopyTo(allowed.AsSpan(row * width, width));             // the cache, the inputs, the pending token
                allowed[row * width + past + row] = true;
                for (int a = draft.Parents[i]; a >= 0; a = draft.Parents[a])
                {
                    allowed[row * width + past + pendingRow + 1 + a] = true;
                }

                pos[row] = pendingAt + draft.Depth(i);
            }
        }

        var mask = tensor(allowed, dtype: ScalarType.Bool, device: _model.Device).view(t, width);
        return (tensor(pos, dtype: ScalarType.Int64, device: _model.Device), mask);
    }

    /// <summary>Ensures <paramref name="tokens"/> more slots fit: compacts dead slots when they outnumber live ones or room is short, then grows.</summary>
    private void MakeRoom(int tokens)
    {
        int live = _cache.Length - _dead;
        if (_dead > 0 && (_dead > live || _cache.Length + tokens > _cache.Capacity))
        {
            var keep = new List<int>(live);
            var owners = new List<int>(live);
            for (int i = 0; i < _owners.Count; i++)
            {
                if (_owners[i] >= 0)
                {
                    keep.Add(i);
                    owners.Add(_owners[i]);
                }
            }

            _cache.KeepSlots(0, keep);
            _owners.Clear();
            _owners.AddRange(owners);
            _dead = 0;
        }

        if (_cache.Length + tokens > _cache.Capacity)
        {
            _cache.Grow(Math.Max(2 * _cache.Capacity, _cache.Length + tokens));
        }
    }

    /// <summary>
    /// Greedy ids and top-2 margins of logits (T', V) float32: one topk, both results read to the host as they are, and
    /// the margins taken there (float subtraction, as libtorch's, then widened) — two native reads instead of ~10 ops.
    /// </summary>
    private static (int[] Predictions, double[] Margins) TopTwo(Tensor logits)
    {
        var (top, topIndex) = logits.topk(2, dim: -1);                                     // (T', 2)
        if (top.device_type != DeviceType.CPU)
        {
            (top, topIndex) = (top.cpu(), topIndex.cpu());                                 // data<T>() reads CPU memory only
        }

        var values = top.data<float>().ToArray();
        var ids = topIndex.data<long>().ToArray();
        var predictions = new int[ids.Length / 2];
        var margins = new double[predictions.Length];
        for (int i = 0; i < predictions.Length; i++)
        {
            predictions[i] = (int)ids[2 * i];
            float margin = values[2 * i] - values[2 * i + 1];
            margins[i] = margin;
        }

        return (predictions, margins);
    }

    public void Dispose() => _cache.Dispose();
}

/// <summary>
/// What one forward verified for one session: the accepted draft nodes in order (<paramref name="Path"/>), the model's own
/// token after them (<paramref name="Bonus"/>), its greedy prediction at the pending token and at every draft node
/// (<paramref name="Predictions"/>), and the smallest top-2 logit margin among the positions that chose emitted tokens.
/// </summary>
internal readonly record struct VerifiedStep(int[] Path, int Bonus, int[] Predictions, double MinMargin);
