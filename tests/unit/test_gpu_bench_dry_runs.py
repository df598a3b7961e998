"""The GPU benches cannot rot: their CPU dry runs run here, and the README's GPU tables are generated
from what they write.

`SWIR_BENCH_DRY_RUN=1 TRITON_INTERPRET=1 python -m bench.swireasoning_gpu` (in `.venv-sglang`, which
has triton) and `python -m bench.local_gpu --smoke` each write their whole JSON to $OUT; the checks
here are on that JSON: the exactness checks passed (the anchor term inside the captured plugin step
exercised on the shard that holds the anchor ids), every column of a local batch row decoded the
same prompts to the same number of tokens with a warm-up and three timed repeats, and each column
names the kernels that ran. Then `python -m bench.gpu_tables` turns the two files into the tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SGLANG_PYTHON
from worker.ops.devstack import ROOT

pytestmark = pytest.mark.slow
LOCAL_COLUMNS = {"hf_dynamic", "hf_static_compiled", "eager_plain", "eager_swir", "fast_plain", "fast_swir",
                 "fast_swir_compiled"}  # fmt: skip
SWIR_ROWS = {"controller eager", "controller fused, CUDA graph", "mixture shard batched", "mixture kernel alone",
             "plugin step, CUDA graph, all rows (GPU)", "table step + step_info fused (wall)"}  # fmt: skip


def run(python: Path | str, args: list[str], out: Path, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), "OUT": str(out), **env}
    return subprocess.run([str(python), *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("gpu-bench")
    assert SGLANG_PYTHON.exists(), "run `make test`: it prepares .venv-sglang"
    swir = run(SGLANG_PYTHON, ["-m", "bench.swireasoning_gpu"], out, SWIR_BENCH_DRY_RUN="1", TRITON_INTERPRET="1")
    local = run(sys.executable, ["-m", "bench.local_gpu", "--smoke"], out)
    return out, swir, local


def test_swireasoning_gpu_dry_run_passes_its_checks_and_writes_every_row(bench_out):
    out, swir, _ = bench_out
    assert swir.returncode == 0, swir.stdout[-3000:] + swir.stderr[-3000:]
    data = json.loads((out / "swireasoning_gpu.json").read_text())
    assert data["machine"]["device"] == "CPU (dry run)" and data["machine"]["date"]
    checks = data["checks"]
    assert any("anchor ids inside" in name for name in checks) and len(checks) == 10, list(checks)
    assert all(bad == [] for bad in checks.values()), checks
    batches = [str(b) for b in data["sizes"]["batches"]]
    vocab = data["sizes"]["vocab"]
    for name in SWIR_ROWS:
        for b in batches:
            cell = data["table"][name][b]
            assert cell["ms"]["n"] >= 1 and cell["ms"]["min"] <= cell["ms"]["median"] <= cell["ms"]["max"], cell
            assert cell["fresh_input_bytes"] >= 2 * int(b) * vocab * 4  # never one set of logits reused
    assert data["table"]["controller eager"]["1"]["floor_bytes"] == vocab * 4  # the logits it reads
    shard = vocab // 8 * data["sizes"]["hidden"] * 2 + vocab // 8 * 4
    assert data["table"]["mixture kernel alone"]["1"]["floor_bytes"] == shard  # the shard and its logits
    all_reduce = [name for name in data["table"] if "all-reduce" in name and "1-rank" in name]
    assert all_reduce and set(data["table"][all_reduce[0]]) == set(batches)


def test_local_gpu_smoke_decodes_the_same_work_in_every_column(bench_out):
    out, _, local = bench_out
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]
    data = json.loads((out / "local_gpu.json").read_text())
    tokens, repeats = data["workload"]["new_tokens"], data["workload"]["repeats"]
    assert repeats >= 3 and len(data["rows"]) == 2
    for row in data["rows"]:
        assert set(row["columns"]) == LOCAL_COLUMNS and row["new_tokens"] == tokens
        assert row["prompts"]["rows"] == row["batch"] and row["prompts"]["sha1"]
        for name, col in row["columns"].items():
            assert col["tokens_per_run"] == [row["batch"] * tokens] * repeats, (name, col["tokens_per_run"])
            assert col["tok_s"]["n"] == repeats and col["kernels"], (name, col)
            assert col["fallbacks"] == [], (name, col["fallbacks"])
            if "swir" in name:
                assert 0 < col["swir"]["mixed_share"] <= 1 and col["swir"]["row_steps"] == row["batch"] * tokens
        assert row["columns"]["hf_static_compiled"]["kernels"] == "static cache, NOT compiled"  # CPU: said so
    assert data["check"]["verdict"].startswith("PASS") and data["check_fp32"]["verdict"].startswith("PASS")
    assert data["concurrent"]["speedup"]["median"] > 0


def test_gpu_tables_render_from_the_combined_json(bench_out, tmp_path):
    out, swir, local = bench_out
    assert swir.returncode == 0 and local.returncode == 0
    combined, readme = tmp_path / "combined.json", tmp_path / "README.md"
    readme.write_text("# x\n<!-- gpu-tables:begin -->\nold figures\n<!-- gpu-tables:end -->\nafter\n")
    tables = run(sys.executable, ["-m", "bench.gpu_tables", "--combine", str(out), "--out", str(combined),
                                  "--readme", str(readme)], out)  # fmt: skip
    assert tables.returncode == 0, tables.stderr[-3000:]
    text = readme.read_text()
    assert "old figures" not in text and text.endswith("<!-- gpu-tables:end -->\nafter\n")
    assert "Measured on CPU (dry run)" in text and "| controller fused, CUDA graph |" in text
    assert "| batch | HF generate(), dynamic cache | HF generate(), static cache + compile |" in text
    assert "| 2 | " in text and "PASS plugin step in a CUDA graph == eager, shard 0" in text
    assert json.loads(combined.read_text())["local_gpu"]["workload"]["repeats"] >= 3
    ours = (ROOT / "README.md").read_text()  # the section `--readme README.md` rewrites
    assert ours.count("<!-- gpu-tables:begin -->") == 1 and ours.count("<!-- gpu-tables:end -->") == 1
