#!/usr/bin/env bash
# Both GPU benches in one command on a lent GPU (sized for about 8 minutes of an H200), then the
# README's tables from what they wrote:
#
#     bash bench/gpu_all.sh            # on the device; with the run tool, $OUT is its return folder
#
# Writes $OUT/swireasoning_gpu.json, $OUT/local_gpu.json (each rewritten after every part, so a
# bench cut short by its timeout leaves what it measured) and $OUT/<gpu>-<date>.json, the combined
# file with the machine and date: commit that one as bench/results/<gpu>-<date>.json and run
# `python -m bench.gpu_tables bench/results/<gpu>-<date>.json --readme README.md`.
# Needs torch, triton and transformers only (run from the repository root).
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export OUT=${OUT:-$(mktemp -d)}
echo "results in $OUT"
timeout 200 "$PY" -m bench.swireasoning_gpu || echo "bench.swireasoning_gpu ended with status $?"
# parts that would start after 200 s are skipped (and say so); the timeout ends one that overruns
timeout 290 "$PY" -m bench.local_gpu --tokens 64 --batches 1,8,32 --repeats 3 --window 8 --budget-s 200 \
  || echo "bench.local_gpu ended with status $?"
"$PY" -m bench.gpu_tables --combine "$OUT" --out "$OUT"
