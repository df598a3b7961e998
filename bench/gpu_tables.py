"""The README's GPU tables, generated from the benches' JSON (never typed by hand).

    python -m bench.gpu_tables --combine $OUT --out $OUT     # -> $OUT/<gpu>-<date>.json
    python -m bench.gpu_tables bench/results/h200-YYYY-MM-DD.json [--readme README.md]

`--combine` joins $OUT/local_gpu.json and $OUT/swireasoning_gpu.json (as bench/gpu_all.sh leaves
them) into one file with the machine and date (named `<gpu>-<date>.json` when --out is a folder).
Given a file, it prints the tables; with `--readme` it also replaces the README's text between
`<!-- gpu-tables:begin -->` and `<!-- gpu-tables:end -->`. Standard library only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- gpu-tables:begin -->", "<!-- gpu-tables:end -->"
LOCAL_NAMES = {
    "hf_dynamic": "HF generate(), dynamic cache", "hf_static_compiled": "HF generate(), static cache + compile",
    "eager_plain": "our eager loop, plain", "eager_swir": "our eager loop, SwiR", "fast_plain": "fast, plain",
    "fast_swir": "fast, SwiR (fused step)", "fast_swir_compiled": "fast, SwiR (compiled eager step)",
}  # fmt: skip


def with_spread(cell: dict[str, Any] | None, digits: int = 1) -> str:
    """'median (min–max)': a hairline against a target shows as one."""
    if not cell or cell.get("median") is None:
        return "—"
    if "min" not in cell or cell["min"] == cell["max"]:
        return f"{cell['median']:,.{digits}f}"
    return f"{cell['median']:,.{digits}f} ({cell['min']:,.{digits}f}–{cell['max']:,.{digits}f})"


def ratio(r: dict[str, Any] | None) -> str:
    if not r:
        return "—"
    return f"{r['median']:.2f} ({r['low']:.2f}–{r['high']:.2f})"


def local_table(result: dict[str, Any]) -> str:
    """Tokens/s per batch and column (median, range over the repeats), SwiR / plain, floor; then which
    kernels ran, SwiReasoning's activity, the batched engine and the checks."""
    rows = [r for r in result.get("rows", []) if "columns" in r]
    w = result.get("workload", {})
    lines = [f"{w.get('new_tokens')} new tokens per row in every column after a {w.get('prompt_tokens')}-token "
             f"prompt (prefill included), {w.get('repeats')} timed runs after a warm-up of that shape; "
             "tok/s median (range):",
             "", "| batch | " + " | ".join(LOCAL_NAMES[c] for c in result["columns"]) + " | SwiR / plain | floor |",
             "|---" * (len(result["columns"]) + 3) + "|"]  # fmt: skip
    for r in rows:
        cells = [with_spread(r["columns"].get(c, {}).get("tok_s")) for c in result["columns"]]
        lines.append(f"| {r['batch']} | " + " | ".join(cells) + f" | {ratio(r.get('swir_over_plain'))} | "
                     f"{r['floor_tok_s']:,.0f} |")  # fmt: skip
    lines += ["", "| column | kernels that ran | SwiR: share of row-steps mixed, switches to explicit / to latent |",
              "|---|---|---|"]  # fmt: skip
    for c in result["columns"]:
        ran = sorted({r["columns"][c]["kernels"] for r in rows if c in r["columns"]})
        act = [r["columns"][c].get("swir") for r in rows if c in r["columns"]]
        shown = "; ".join(f"B={r['batch']}: {a['mixed_share']:.0%}, {a['to_explicit']} / {a['to_latent']}"
                          for r, a in zip(rows, act, strict=True) if a)  # fmt: skip
        lines.append(f"| {LOCAL_NAMES[c]} | {' / '.join(ran) or '—'} | {shown or '—'} |")
    conc = result.get("concurrent") or {}
    if "speedup" in conc:
        lines.append(f"\n{conc['jobs']} concurrent requests through the batched engine: "
                     f"{with_spread(conc['together']['tok_s'])} tok/s in all, one alone "
                     f"{with_spread(conc['one_alone']['tok_s'])}: {ratio(conc['speedup'])}×.")  # fmt: skip
    for key in ("check", "check_fp32"):
        c = result.get(key) or {}
        if "verdict" in c:
            lines.append(f"- {key}: {c['verdict']}, greedy {c['equal_steps']}/{c['steps']} steps equal, argmax "
                         f"{c['argmax_agree']}/{c['steps']}, logits rel. diff {c['logits_rel_diff']:.2e}")  # fmt: skip
    skipped = [str(r.get("skipped") or r.get("failed")) for r in result.get("rows", []) if "columns" not in r]
    return "\n".join(lines + [f"- a batch row was not measured: {s}" for s in skipped])


def swireasoning_table(payload: dict[str, Any]) -> str:
    """ms per decode step per B: median (range), and against the read floor; then the checks."""
    table, batches = payload.get("table", {}), [str(b) for b in payload["sizes"]["batches"]]
    bw = payload["bandwidth"]
    lines = [f"Read bandwidth {bw['read_Bps'] / 1e12:.2f} TB/s (copy, read + write counted: "
             f"{bw['copy_read_plus_write_Bps'] / 1e12:.2f} TB/s); [×] = time / read floor (logits + embedding rows).",
             "", "| per decode step, ms | " + " | ".join(f"B={b}" for b in batches) + " |",
             "|---" * (len(batches) + 1) + "|"]  # fmt: skip
    for name, cells in table.items():
        shown = []
        for b in batches:
            cell = cells.get(b)
            if cell is None:
                shown.append("—")
                continue
            text = with_spread(cell["ms"], 3)
            floor = cell.get("floor_ms") or 0
            shown.append(f"{text} [{cell['ms']['median'] / floor:.1f}×]" if floor else text)
        lines.append(f"| {name} | " + " | ".join(shown) + " |")
    for name, bad in payload.get("checks", {}).items():
        lines.append(
            f"- {'PASS' if not bad else 'FAIL'} {name}" + (f": {len(bad)} mismatches, {bad[:3]}" if bad else "")
        )
    return "\n".join(lines)


def render(combined: dict[str, Any]) -> str:
    m = combined["machine"]
    head = (f"Measured on {m['device']}, {m['date']} (torch {m['torch']}, transformers {m.get('transformers')}, "
            f"triton {m.get('triton')}, commit {m.get('commit') or 'unknown'}); "
            f"raw file {combined.get('source', '?')}.")  # fmt: skip
    parts = [head]
    if "swireasoning_gpu" in combined and "table" in combined["swireasoning_gpu"]:
        parts += ["", "`python -m bench.swireasoning_gpu`:", "", swireasoning_table(combined["swireasoning_gpu"])]
    if "local_gpu" in combined and "rows" in combined["local_gpu"]:
        parts += ["", "`python -m bench.local_gpu`:", "", local_table(combined["local_gpu"])]
    return "\n".join(parts)


def combine(out_dir: Path) -> dict[str, Any]:
    combined: dict[str, Any] = {}
    for name in ("swireasoning_gpu", "local_gpu"):
        path = out_dir / f"{name}.json"
        if path.exists():
            combined[name] = json.loads(path.read_text())
            combined.setdefault("machine", combined[name].get("machine"))
    if not combined.get("machine"):
        raise SystemExit(f"no bench JSON with a machine in {out_dir}")
    return combined


def file_name(m: dict[str, Any]) -> str:
    """'NVIDIA H200' on 2026-12-02 -> 'h200-2026-12-02.json'."""
    gpu = m["device"].split()[-1].lower().replace("(", "").replace(")", "") or "gpu"
    return f"{gpu}-{m['date'][:10]}.json"


def into_readme(readme: Path, tables: str) -> None:
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme} has no {BEGIN} … {END} section")
    head, rest = text.split(BEGIN, 1)
    readme.write_text(f"{head}{BEGIN}\n{tables}\n{END}{rest.split(END, 1)[1]}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file", nargs="?", type=Path, help="a combined JSON (bench/results/...)")
    p.add_argument("--combine", type=Path, help="a folder holding local_gpu.json and swireasoning_gpu.json")
    p.add_argument("--out", type=Path, help="where --combine writes the combined JSON")
    p.add_argument("--readme", type=Path, help="rewrite this README's GPU tables section")
    a = p.parse_args()
    if a.combine:
        if not a.out:
            p.error("--combine needs --out")
        combined = combine(a.combine)
        a.file = a.out / file_name(combined["machine"]) if a.out.is_dir() else a.out
        a.file.write_text(json.dumps(combined, indent=1))
    elif not a.file:
        p.error("give a combined JSON file (or --combine DIR --out FILE)")
    combined = json.loads(a.file.read_text())
    combined["source"] = str(a.file)
    tables = render(combined)
    print(tables)
    if a.readme:
        into_readme(a.readme, tables)


if __name__ == "__main__":
    main()
