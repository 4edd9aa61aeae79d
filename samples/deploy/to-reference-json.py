#!/usr/bin/env python3
"""Converts a `cllm collect` JSONL data set into the JSON array the reference trainer reads.

The reference (hao-ai-lab/Consistency_LLM, cllm/train_cllm_global.py) loads the whole file with json.load and
indexes prompt_ids[0] and teacher_output_ids[0], i.e. it expects those two fields nested one level deeper
([[ids]]) than the flat lists Cllm writes. Everything else is passed through unchanged.

Usage: python3 to-reference-json.py traj.jsonl traj.json
"""
import json
import os
import sys


def main(source: str, target: str) -> None:
    count = 0
    with open(source, encoding="utf-8") as lines, open(target + ".tmp", "w", encoding="utf-8") as out:
        out.write("[")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                sys.exit(f"{source}:{number}: not JSON ({error})")
            for field in ("prompt_ids", "teacher_output_ids"):
                ids = record.get(field)
                if not isinstance(ids, list) or not ids:
                    sys.exit(f"{source}:{number}: {field} is missing or empty")
                if not isinstance(ids[0], list):
                    record[field] = [ids]
            out.write(("," if count else "") + "\n" + json.dumps(record, separators=(",", ":")))
            count += 1
        out.write("\n]\n")
    os.replace(target + ".tmp", target)
    print(f"{count} records -> {target}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: to-reference-json.py traj.jsonl traj.json")
    main(sys.argv[1], sys.argv[2])
