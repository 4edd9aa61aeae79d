#!/usr/bin/env bash
# One shard of `cllm collect` on a cluster. The shard index comes from the scheduler:
#   Kubernetes Indexed Job: JOB_COMPLETION_INDEX (0..completions-1)
#   Slurm job array:        SLURM_ARRAY_TASK_ID  (submit with --array=0-(K-1))
#   anything else:          SHARD_INDEX
# Required: MODEL (HF folder), PROMPTS (JSONL), OUTPUT_DIR (shared by all shards), SHARDS (K; under Slurm it
# defaults to SLURM_ARRAY_TASK_COUNT). Optional: BLOCK_SIZE (16), MAX_NEW_TOKENS (256), SEED (0),
# COLLECT_ARGS (e.g. "--clean --threads 16"), CLLM (the command, default: cllm).
# Writes OUTPUT_DIR/traj-<I>-of-<K>.jsonl and, when the shard is complete, OUTPUT_DIR/traj-<I>-of-<K>.done.
# A rerun (retry, preemption, requeue) resumes the shard's file: finished prompts are kept, not decoded again.
set -euo pipefail

fail() { echo "collect-shard: $*" >&2; exit 2; }

INDEX="${SHARD_INDEX:-${JOB_COMPLETION_INDEX:-${SLURM_ARRAY_TASK_ID:-}}}"
SHARDS="${SHARDS:-${SLURM_ARRAY_TASK_COUNT:-}}"
[[ -n "$INDEX" ]] || fail "no shard index: set JOB_COMPLETION_INDEX (Kubernetes Indexed Job), SLURM_ARRAY_TASK_ID (Slurm array) or SHARD_INDEX"
[[ -n "$SHARDS" ]] || fail "SHARDS (the number of shards K) is not set"
[[ "$INDEX" =~ ^[0-9]+$ && "$SHARDS" =~ ^[0-9]+$ ]] || fail "shard index '$INDEX' and SHARDS '$SHARDS' must be non-negative integers"
(( INDEX < SHARDS )) || fail "shard index $INDEX is not below SHARDS=$SHARDS (Slurm: --array=0-$((SHARDS - 1)))"
: "${MODEL:?MODEL (Hugging Face model folder) is not set}"
: "${PROMPTS:?PROMPTS (JSONL prompt file) is not set}"
: "${OUTPUT_DIR:?OUTPUT_DIR (folder shared by all shards) is not set}"

mkdir -p "$OUTPUT_DIR"
out="$OUTPUT_DIR/traj-$INDEX-of-$SHARDS.jsonl"
rm -f "${out%.jsonl}.done"
# shellcheck disable=SC2086 # CLLM and COLLECT_ARGS are word lists on purpose
${CLLM:-cllm} collect --model "$MODEL" --prompts "$PROMPTS" --output "$out" --shard "$INDEX/$SHARDS" \
  --block-size "${BLOCK_SIZE:-16}" --max-new-tokens "${MAX_NEW_TOKENS:-256}" --seed "${SEED:-0}" ${COLLECT_ARGS:-}
touch "${out%.jsonl}.done"
