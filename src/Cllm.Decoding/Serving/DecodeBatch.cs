using System;
using System.Collections.Generic;
using System.Collections.Immutable;
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
/// <para>
/// Shared prompt prefixes: a session joining with a prompt that begins as a cached prompt of the batch does not compute
/// that part again. Its rows also see the first L slots of the session that holds it (the same tokens at the same
/// positions, so the same keys and values), and its own slots start at position L. A holder that finishes while others
/// still see its prefix keeps its prompt's slots (retained) until the last of them leaves; the rest of its slots die.
/// Prefixes are taken only from a holder's own prompt slots (never from a session that shares itself), and at most the
/// prompt's length − 1, so every session computes its own last prompt token.
/// </para>
/// <para>
/// An idle batch keeps its last session's slots (its prompt and what it generated, compacted to positions 0…n − 1), so
/// the next session, if it begins with the same tokens (the next turn of a chat, the same system prompt), adopts them as
/// its own: the cache is cut back to the common prefix and the session owns all of it, running the single-request
/// forward from there. Otherwise the cache is emptied.
/// </para>
/// </remarks>
internal sealed class DecodeBatch : IDisposable
{
    private sealed class Member
    {
        public required int Id { get; init; }

        public required DecodeSession Session { get; init; }

        public ImmutableArray<int> Prompt => Session.Request.PromptIds;

        public int Cached { get; set; }                                                    // live cache slots the session owns

        public int SharedFrom { get; init; } = -1;                                         // the holder whose first Shared slots the session sees, −1 for none

        public int Shared { get; init; }

        public int Position => Shared + Cached;                                            // the position of the session's next cached token

        public int CachedPrompt => Math.Min(Cached, Prompt.Length);                        // a holder's prompt tokens in the cache (positions 0…, as it shares from nobody)
    }

    /// <summary>A holder's prompt and how many of its first tokens are cached (at most the prompt's length): live sessions that share from nobody, and retained ones.</summary>
    private sealed record Holder(ImmutableArray<int> Prompt, int Length);

    /// <summary>Shared prefixes shorter than this are not worth the bookkeeping.</summary>
    private const int MinSharedPrefix = 4;

    private readonly LlamaForCausalLM _model;
    private readonly bool _sharePrefixes;
    private readonly Dictionary<DecodeSession, Member> _members = new();
    private readonly Dictionary<int, int> _sharers = new();                               // per holder id: live sessions that see its prefix
    private readonly Dictionary<int, Holder> _retained = new();                           // holders that left while shared: their prompt slots stay
    private readonly List<int> _owners = new();                                            // per cache slot: its session's id, −1 once dead
    private readonly List<int> _positions = new();                                         // per cache slot: its token's position
    private KvCache _cache;
    private int[]? _idle;                                                                  // while no session runs: the tokens at the cache's positions 0…n − 1
    private int _dead;
    private int _nextId;

    /// <param name="model">The model; all sessions must decode with it.</param>
    /// <param name="capacity">Initial cache slots; the cache grows when sessions need more.</param>
    /// <param name="sharePrefixes">Whether a joining session reuses the cached slots of a prompt prefix it shares with another.</param>
    public DecodeBatch(LlamaForCausalLM model, int capacity, bool sharePrefixes = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _sharePrefixes = sharePrefixes;
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

        var member = new Member { Id = _nextId++, Session = session };
        if (_members.Count == 0)
        {
            Adopt(member);
        }
        else if (_sharePrefixes && LongestSharedPrefix(session.Request.PromptIds) is ( >= 0 and var holder, var shared))
        {
            member = new Member { Id = member.Id, Session = session, SharedFrom = holder, Shared = shared };
            _sharers[holder] = _sharers.GetValueOrDefault(holder) + 1;
            session.ReuseCachedPrefix(shared);
        }

        _members.Add(session, member);
    }

    /// <summary>
    /// The first session of an idle batch: keeps the common prefix of its prompt and the idle slots' tokens (at most its
    /// length − 1) as its own, or empties the cache.
    /// </summary>
    private void Adopt(Member member)
    {
        var idle = _idle;
        _idle = null;
        int common = idle is null ? 0 : CommonPrefix(idle, member.Prompt.AsSpan(), member.Prompt.Length - 1);
        if (common < MinSharedPrefix)
        {
            common = 0;
        }

        _cache.TruncateTo(common);
        _owners.Clear();
        _positions.Clear();
        for (int i = 0; i < common; i++)
        {
            _owners.Add(member.Id);
            _positions.Add(i);
        }

        _sharers.Clear();
        _retained.Clear();
        _dead = 0;
        if (common > 0)
        {
            member.Cached = common;
            member.Session.ReuseCachedPrefix(common);
        }
    }

    /// <summary>
    /// The last session left: keeps what it saw (its shared prefix and its own slots, positions 0…n − 1, compacted to
    /// slots 0…n − 1) for the next session to adopt, or empties the cache when sharing is off or the slots do not add up.
    /// </summary>
    private void Retire(Member member)
    {
        _idle = null;
        var tokens = member.Session.Tokens;
        int n = member.Position;
        var keep = new List<int>(n);
        if (_sharePrefixes && _owners.Count == _cache.Length && n <= tokens.Count)
        {
            for (int slot = 0; slot < _owners.Count; slot++)
            {
                int owner = _owners[slot];
                if (owner == member.Id || (owner == member.SharedFrom && _positions[slot] < member.Shared))
                {
                    if (_positions[slot] != keep.Count)
                    {
                        break;                                                             // not positions 0, 1, 2, … in slot order
                    }

                    keep.Add(slot);
                }
            }
        }

        if (keep.Count == n && n > 0)
        {
            _cache.KeepSlots(0, keep);
            var idle = new int[n];
            for (int i = 0; i < n; i++)
            {
                idle[i] = tokens[i];
            }

            _idle = idle;
        }
        else
        {
            _cache.Reset();
        }

        _owners.Clear();
        _positions.Clear();
        _sharers.Clear();
        _retained.Clear();
        _dead = 0;
    }

    /// <summary>The holder whose cached prompt slots cover the longest prefix of <paramref name="prompt"/> (at most its length − 1), and that length; (−1, 0) for none of at least <see cref="MinSharedPrefix"/>.</summary>
    private (int Holder, int Length) LongestSharedPrefix(ImmutableArray<int> prompt)
    {
        int best = -1, bestLength = MinSharedPrefix - 1;
        foreach (var (id, holder) in Holders())
        {
            int common = CommonPrefix(holder.Prompt.AsSpan(0, holder.Length), prompt.AsSpan(), prompt.Length - 1);
            if (common > bestLength)
            {
                (best, bestLength) = (id, common);
            }
        }

        return best < 0 ? (-1, 0) : (best, bestLength);
    }

    /// <summary>The length of the common prefix of <paramref name="a"/> and <paramref name="b"/>, at most <paramref name="limit"/>.</summary>
    private static int CommonPrefix(ReadOnlySpan<int> a, ReadOnlySpan<int> b, int limit)
    {
        limit = Math.Min(limit, Math.Min(a.Length, b.Length));
        int common = 0;
        while (common < limit && a[common] == b[common])
        {
            common++;
        }

        return common;
    }

    private IEnumerable<(int Id, Holder Holder)> Holders()
    {
        foreach (var member in _members.Values)
        {
            if (member.SharedFrom < 0)
            {
                yield return (member.Id, new Holder(member.Prompt, member.CachedPrompt));
            }
        }

        foreach (var (id, holder) in _retained)
        {
            yield return (id, holder);
        }
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
            Retire(member);
            return;
        }

        if (member.SharedFrom >= 0)
        {
            int left = _sharers[member.SharedFrom] - 1;
            if (left > 0)
            {
                _sharers[member.SharedFrom] = left;
            }
            else
            {
                _sharers.Remove(member.SharedFrom);
                if (_retained.Remove(member.SharedFrom))
                {
                    Kill(member.SharedFrom, keepBelow: 0);                                   // its last sharer left
                }
            }
        }

        if (_sharers.ContainsKey(member.Id))
        {
            // Others still see its prefix: its prompt's slots stay, the rest die.
            _retained.Add(member.Id, new Holder(member.Prompt, member.CachedPrompt));
            Kill(member.Id, keepBelow: member.CachedPrompt);
        }
        else
        {
            Kill(member.Id, keepBelow: 0);
        }
    }

    /// <summary>Marks the slots of <paramref name="id"/> at positions from <paramref name="keepBelow"/> on dead.</summary>
    private void Kill(int id, int keepBelow)
    {
        for (int i = 0; i < _owners.Count; i++)
        {
            if (_owners[i] == id && _positions[i] >= keepBelow)
            {
                _owners[i] = -1;
                _dead++;
            }
        }
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
        bool alone = count == 1 && _members.Count == 1 && members[0].Cached == past;      // the session owns every cached slot
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
        var keptPositions = new List<int>(t);
        for (int s = 0; s < count; s++)
        {
            for (int i = 0; i < inputs[s].Count - 1; i++)
            {
                keep.Add(bodyStart[s] + i);
                keptOwners.Add(members[s].Id);
                keptPositions.Add(members[s].Position + i);
            }
        }

        for (int s = 0; s < count; s++)
        {
            var draft = drafts[s];
            int first = rowStart[s];
            int pendingAt = members[s].Position + inputs[s].Count - 1;                       // the pending token's position
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
                keptPositions.Add(pendingAt);
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
            keptPositions.Add(pendingAt);
            for (int i = 0; i < path.Length; i++)
            {
                minMargin = Math.Min(minMargin, margins[first + 1 + path[i]]);
                keep.Add(bodies + first + 1 + path[i]);
                keptOwners.Add(members[s].Id);
                keptPositions.Add(pendingAt + 1 + i);                                        // an accepted path is a chain from the pending token
            }

            members[s].Cached += inputs[s].Count + path.Length;
            results[s] = new VerifiedStep(path, bonus, own, minMargin);
        }

        if (keep.Count < t)
        {
            _cache.KeepSlots(past, keep);
        }

        _owners.AddRange(keptOwners);
        _positions.AddRange(keptPositions);
        return results;
    }

    /// <summary>
    /// Positions (T) and mask (T, past + T) of a packed forward: a body or pending token sees its session's cached slots
    /// (its shared prefix's among them) and its session's inputs up to itself; a draft node sees those, the pending token,
    /// its ancestors and itself, at the pending token's position + its depth.
    /// </summary>
    private (Tensor Positions, Tensor Mask) Layout(Member[] members, IReadOnlyList<IReadOnlyList<int>> inputs, IReadOnlyList<Draft> drafts, int past, int t, int bodies, int[] bodyStart, int[] rowStart)
    {
        int width = past + t;
        var pos = new long[t];
        var allowed = new bool[t * width];
        var template = new bool[width];
        for (int s = 0; s < members.Length; s++)
        {
            // The session's own cached slots and its shared prefix, seen by all its rows.
            Array.Clear(template);
            int id = members[s].Id, from = members[s].SharedFrom, shared = members[s].Shared;
            for (int slot = 0; slot < past; slot++)
            {
                int owner = _owners[slot];
                template[slot] = owner == id || (owner == from && _positions[slot] < shared);
            }

            int cached = members[s].Position;
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
            var positions = new List<int>(live);
            for (int i = 0; i < _owners.Count; i++)
            {
                if (_owners[i] >= 0)
                {
                    keep.Add(i);
                    owners.Add(_owners[i]);
                    positions.Add(_positions[i]);
                }
            }

            _cache.KeepSlots(0, keep);
            _owners.Clear();
            _owners.AddRange(owners);
            _positions.Clear();
            _positions.AddRange(positions);
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
