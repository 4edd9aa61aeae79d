#!/usr/bin/env bash
# Joins the K shard files of collect-shard.sh into one data set, after checking that every shard finished.
# Usage: concat-shards.sh OUTPUT_DIR K OUT.jsonl
# Records carry global prompt ids (data_<i>), so shard files concatenate without clashes; the result holds the
# same records as one `cllm collect` over all prompts, grouped by shard instead of by prompt index.
set -euo pipefail

[[ $# -eq 3 ]] || { echo "usage: concat-shards.sh OUTPUT_DIR K OUT.jsonl" >&2; exit 2; }
dir="$1" shards="$2" out="$3"
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || { echo "concat-shards: K '$shards' is not a positive integer" >&2; exit 2; }

missing=()
files=()
for ((i = 0; i < shards; i++)); do
  f="$dir/traj-$i-of-$shards.jsonl"
  [[ -f "${f%.jsonl}.done" && -f "$f" ]] || missing+=("$i")
  files+=("$f")
done
if (( ${#missing[@]} > 0 )); then
  echo "concat-shards: shards not finished in $dir: ${missing[*]} (of 0..$((shards - 1))); rerun them, they resume" >&2
  exit 1
fi

cat "${files[@]}" > "$out.tmp"
mv "$out.tmp" "$out"
echo "concat-shards: $(wc -l < "$out") records from $shards shards -> $out" >&2
