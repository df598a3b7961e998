"""The local engine on one GPU: a random bf16 model of Rio 3.0 Open Mini's size (Qwen3 4B config).

    python -m bench.local_gpu [--tokens 64] [--batches 1,8,32] [--repeats 3] [--window 8] [--budget-s 0]
    python -m bench.local_gpu --smoke      # a tiny model on the CPU: the bench's code, not its speed

Every column of a batch row decodes the same prompts to the same number of new tokens (both kept
in the JSON, with the tokens each run produced); each path gets one untimed warm-up run of that
very shape, then `--repeats` timed runs: median and spread. Columns: HF `generate()` with its
default dynamic cache and with its static cache (auto-compiled by transformers), our eager loop
(plain / SwiReasoning) and our static-cache captured loop (plain / SwiReasoning with the fused
step / with the eager step compiled). Each column says which kernels actually ran (a compile that
fell back says so); SwiReasoning columns log the share of row-steps that fed a mixture and the
switches both ways (the dwell window is short next to the token count, so rows return to latent).
Floor = batch x read bandwidth / weight bytes. Then 8 concurrent requests through the batched
engine against one alone (repeats too), the CUDA checks (PASS/FAIL) and a per-step breakdown.
The whole result goes to $OUT/local_gpu.json (rewritten after each part). Imports only
swireasoning, transformers and torch; skips without CUDA unless --smoke.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from bench.gpu_common import machine, read_bandwidth, spread, watch_fallbacks, write_json
from bench.local_gpu_checks import breakdown, check, check_fp32, profile_steps, show_breakdown
from bench.local_gpu_setup import (
    DEVICE,
    FP32_CHECK,
    QWEN3_4B,
    SAMPLING,
    SMOKE,
    Deadline,
    build_model,
    prompt_record,
    prompts,
    swir_cfg,
    sync,
)
from bench.static_path import GraphedStep, SlotCache, StaticStep, generate_static
from swireasoning.batcher import BatchEngine, Request, StaticRows
from swireasoning.controller import SwiRController
from swireasoning.decode import PromptBatch, generate
from swireasoning.fused import FusedSwiRController, triton_kernels

log = logging.getLogger("bench.local_gpu")
JSON_NAME = "local_gpu.json"
COLUMNS = ("hf_dynamic", "hf_static_compiled", "eager_plain", "eager_swir", "fast_plain", "fast_swir",
           "fast_swir_compiled")  # fmt: skip


@dataclass
class Run:
    """One decode: new tokens produced (all rows) and our loops' steps (kept for the SwiR counts)."""

    tokens: int
    steps: list[Any] = field(default_factory=list)


@dataclass
class Bench:
    """What every column of a row shares: the model, the captured step, the workload."""

    model: Any
    step: GraphedStep
    tokens: int
    window: int
    compile: bool


def hf_generate(bench: Bench, batch: PromptBatch, static: bool) -> Run:
    extra = {"cache_implementation": "static"} if static else {}
    out = bench.model.generate(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask, max_new_tokens=bench.tokens,
        min_new_tokens=bench.tokens, do_sample=True, temperature=SAMPLING.temperature, top_p=SAMPLING.top_p,
        top_k=SAMPLING.top_k, **extra,
    )  # fmt: skip
    return Run(int((out.shape[1] - batch.input_ids.shape[1]) * out.shape[0]))


def controller_for(bench: Bench, batch: PromptBatch, kind: type[SwiRController] | None) -> SwiRController | None:
    if kind is None:
        return None
    cfg = swir_cfg(bench.tokens, bench.model.config.vocab_size, bench.window)
    return kind(cfg, batch.input_ids.shape[0], DEVICE)


def eager(bench: Bench, batch: PromptBatch, swir: bool) -> Run:
    g = torch.Generator(device=DEVICE).manual_seed(0)
    controller = controller_for(bench, batch, SwiRController if swir else None)
    steps = list(generate(bench.model, batch, max_new_tokens=bench.tokens, sampling=SAMPLING, eos_ids=(-1,),
                          controller=controller, generator=g))  # fmt: skip
    return Run(sum(int(s.ids.numel()) for s in steps), steps)


def fast(bench: Bench, batch: PromptBatch, kind: type[SwiRController] | None) -> Run:
    """The static path; SwiReasoning with the fused controller step, or the eager one compiled (CUDA)."""
    g = torch.Generator(device=DEVICE).manual_seed(0)
    compiled = kind is SwiRController and DEVICE == "cuda"
    steps = list(generate_static(
        bench.model, batch, max_new_tokens=bench.tokens, sampling=SAMPLING, eos_ids=(-1,),
        controller=controller_for(bench, batch, kind), generator=g, step=bench.step, compile_controller=compiled,
    ))  # fmt: skip
    return Run(sum(int(s.ids.numel()) for s in steps), steps)


def path_fns(bench: Bench, batch: PromptBatch) -> dict[str, Callable[[], Run]]:
    return {
        "hf_dynamic": lambda: hf_generate(bench, batch, static=False),
        "hf_static_compiled": lambda: hf_generate(bench, batch, static=True),
        "eager_plain": lambda: eager(bench, batch, swir=False),
        "eager_swir": lambda: eager(bench, batch, swir=True),
        "fast_plain": lambda: fast(bench, batch, None),
        "fast_swir": lambda: fast(bench, batch, FusedSwiRController),
        "fast_swir_compiled": lambda: fast(bench, batch, SwiRController),
    }


def compiled_graphs() -> int:
    """Graphs torch.compile has built in this process so far (a rise means it compiled)."""
    return int(torch._dynamo.utils.counters["stats"]["unique_graphs"])


def time_path(fn: Callable[[], Run], repeats: int, warmups: int = 1) -> tuple[dict[str, Any], Run]:
    """`warmups` untimed runs of the same shape, then `repeats` timed ones (tokens/s, prefill
    included); also the last run (its steps)."""
    with watch_fallbacks() as fallbacks:
        before = compiled_graphs()
        for _ in range(warmups):
            fn()
        warm = compiled_graphs()
        rates, tokens, last = [], [], Run(0)
        for _ in range(repeats):
            sync()
            t0 = time.perf_counter()
            last = fn()
            sync()
            rates.append(last.tokens / (time.perf_counter() - t0))
            tokens.append(last.tokens)
    return {"tok_s": spread(rates), "tokens_per_run": tokens, "graphs_compiled_warmup": warm - before,
            "graphs_compiled_timed": compiled_graphs() - warm, "fallbacks": fallbacks.messages}, last  # fmt: skip


def swir_activity(steps: list[Any]) -> dict[str, Any]:
    """Row-steps that fed a mixture (latent, or switching to explicit) and the switches both ways
    (counted after the timed runs: no sync inside them)."""
    rows = sum(int(s.ids.numel()) for s in steps)
    mixed = sum(int((s.latent | (s.switched_to == 1)).sum()) for s in steps)
    to_explicit = sum(int((s.switched_to == 1).sum()) for s in steps)
    to_latent = sum(int((s.switched_to == 2).sum()) for s in steps)
    return {"row_steps": rows, "mixed_share": mixed / max(rows, 1), "to_explicit": to_explicit, "to_latent": to_latent}


def kernels(name: str, bench: Bench, result: dict[str, Any]) -> str:
    """What actually ran in a column, from what happened (graphs compiled, fallbacks logged)."""
    if name.startswith("hf_"):
        if name == "hf_dynamic":
            return "transformers eager kernels, dynamic cache"
        n, late = result["graphs_compiled_warmup"], result["graphs_compiled_timed"]
        again = f"; {late} MORE compiled while timed" if late else ""
        return f"static cache, torch.compile ({n} graphs compiled){again}" if n else "static cache, NOT compiled"
    if name.startswith("eager"):
        return "transformers modules eager, dynamic cache" + ("; eager controller" if "swir" in name else "")
    if DEVICE != "cuda":
        label = "static cache, eager (CPU: no graph)"
    elif bench.step.fn is bench.step.step:
        label = "CUDA graph of eager kernels" + (" (torch.compile FELL BACK)" if bench.compile else "")
    else:
        label = "CUDA graph of the torch.compile'd step"
    if name == "fast_swir":
        label += "; fused Triton controller" if DEVICE == "cuda" and triton_kernels() else "; eager controller"
    if name == "fast_swir_compiled":
        fell = any("SwiReasoning step" in m for m in result["fallbacks"])
        compiled = DEVICE == "cuda" and not fell
        label += "; controller torch.compile'd" if compiled else "; controller eager" + (" (FELL BACK)" if fell else "")
    return label


def batch_row(bench: Bench, b: int, repeats: int, read_bps: float, smoke: bool) -> dict[str, Any]:
    batch = prompts(b, DEVICE, bench.model.config.vocab_size)
    row: dict[str, Any] = {"batch": b, "prompts": prompt_record(batch, b), "new_tokens": bench.tokens, "columns": {}}
    for name, fn in path_fns(bench, batch).items():
        # dynamo compiles HF's static-cache forward again, dynamic, on the second call of a shape
        result, last = time_path(fn, repeats, warmups=2 if name == "hf_static_compiled" else 1)
        result["kernels"] = kernels(name, bench, result)
        if "swir" in name:
            result["swir"] = swir_activity(last.steps)
        row["columns"][name] = result
        log.info("batch %d %s: %.1f tok/s median (%s)", b, name, result["tok_s"]["median"], result["kernels"])
    cols = row["columns"]
    row["swir_over_plain"] = rate_ratio(cols["fast_swir"]["tok_s"], cols["fast_plain"]["tok_s"])
    weight_bytes = sum(p.numel() * p.element_size() for p in bench.model.parameters())
    row["floor_tok_s"] = b * read_bps / weight_bytes
    for swir_on in (False, True):
        uncompiled = None if swir_on or b > 8 else GraphedStep(bench.step.step, compile=False)
        d = breakdown(bench.model, bench.step, b, swir_on, steps=6 if smoke else 24, eager_graph=uncompiled)
        row[f"breakdown_{'swir' if swir_on else 'plain'}"] = d
        print(show_breakdown(b, swir_on, d))
    return row


def concurrent(bench: Bench, jobs: int, repeats: int) -> dict[str, Any]:
    """`jobs` requests submitted together to the batched engine, against one alone (aggregate tok/s)."""
    model, tokens = bench.model, bench.tokens
    cfg = swir_cfg(tokens, model.config.vocab_size, bench.window)
    engine = BatchEngine(StaticRows(model, (-1,), cfg, bench.step.step.kv.capacity, 0, graph=bench.step))

    def run(n: int, max_new: int) -> Run:
        tickets = [
            engine.submit(Request(prompts(1, DEVICE, model.config.vocab_size), SAMPLING, max_new,
                                  torch.Generator(device=DEVICE).manual_seed(i)))
            for i in range(n)
        ]  # fmt: skip
        return Run(sum(sum(int(s.ids.numel()) for s in t) for t in tickets))

    alone, _ = time_path(lambda: run(1, tokens), repeats)
    together, _ = time_path(lambda: run(jobs, tokens), repeats)
    return {"jobs": jobs, "new_tokens": tokens, "one_alone": alone, "together": together,
            "speedup": rate_ratio(together["tok_s"], alone["tok_s"])}  # fmt: skip


def rate_ratio(top: dict[str, Any], bottom: dict[str, Any]) -> dict[str, float]:
    """top / bottom of two spreads: of the medians, and the lowest and highest the repeats allow."""
    return {"median": top["median"] / bottom["median"], "low": top["min"] / bottom["max"],
            "high": top["max"] / bottom["min"]}  # fmt: skip


def guarded(what: str, fn: Callable[[], Any]) -> Any:
    """One part's failure is reported and the others still run (one GPU session for everything)."""
    try:
        return fn()
    except Exception as exc:
        log.exception("%s failed", what)
        print(f"FAIL: {what}: {type(exc).__name__}: {exc}")
        return {"failed": f"{type(exc).__name__}: {exc}"}


def measure(a: argparse.Namespace, deadline: Deadline) -> dict[str, Any]:
    """Every part, each guarded and skipped past the time budget; the JSON rewritten after each."""
    name = torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu (smoke)"
    model = build_model(DEVICE, SMOKE if a.smoke else QWEN3_4B)
    batches = [int(b) for b in a.batches.split(",")]
    step = GraphedStep(StaticStep(model, SlotCache(model, max(batches), 256)), compile=not a.no_compile)
    bench = Bench(model, step, a.tokens, a.window, compile=not a.no_compile)
    bw = read_bandwidth(DEVICE)
    result: dict[str, Any] = {"machine": machine(name), "bandwidth": bw, "columns": list(COLUMNS), "rows": [],
                              "workload": workload(a)}  # fmt: skip
    parts: list[tuple[str, Callable[[], Any]]] = [
        *((f"batch {b}", functools.partial(batch_row, bench, b, a.repeats, bw["read_Bps"], a.smoke)) for b in batches),
        ("concurrent", lambda: concurrent(bench, 8, a.repeats)),
        ("check_fp32", lambda: check_fp32(not a.no_compile, SMOKE if a.smoke else FP32_CHECK, 8 if a.smoke else 48)),
    ]
    parts.insert(0, ("check", lambda: check(model, step, 8 if a.smoke else 48)))  # first: cut by no time budget
    for what, fn in parts:
        out = {"skipped": "time budget"} if deadline.passed() else guarded(what, fn)
        if what.startswith("batch"):
            result["rows"].append(out)
        else:
            result[what] = out
        result["seconds"] = deadline.elapsed()
        write_json(JSON_NAME, result)
    if a.profile:
        for b in (1, 8):
            guarded(f"profile {b}", functools.partial(profile_steps, model, step, b))
    return result


def workload(a: argparse.Namespace) -> dict[str, Any]:
    return {"model": "smoke" if a.smoke else "qwen3-4b (random bf16)", "prompt_tokens": 32, "new_tokens": a.tokens,
            "sampling": vars(SAMPLING), "swir_window": a.window, "repeats": a.repeats, "compile": not a.no_compile,
            "prefill": "included in every column's tok/s (the same prompts and token count in each)"}  # fmt: skip


def args() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--tokens", type=int, default=None, help="new tokens per row, every column (64; smoke 4)")
    p.add_argument("--batches", default=None, help="batch sizes (1,8,32; smoke 1,2)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per column after its warm-up (>= 3)")
    p.add_argument("--window", type=int, default=8, help="SwiReasoning dwell window, steps")
    p.add_argument("--budget-s", type=float, default=0, help="skip parts that would start after this (0: none)")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--profile", action="store_true", help="also print torch.profiler tables at batch 1 and 8")
    p.add_argument("--smoke", action="store_true", help="a tiny model on this machine: the bench's code, not its speed")
    a = p.parse_args()
    a.tokens = a.tokens or (4 if a.smoke else 64)
    a.batches = a.batches or ("1,2" if a.smoke else "1,8,32")
    if a.repeats < 3:
        p.error("--repeats must be at least 3 (a median and a spread)")
    return a


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    a = args()
    if not torch.cuda.is_available() and not a.smoke:
        print("skipped: no CUDA device (this bench measures the local engine on a GPU)")
        write_json(JSON_NAME, {"skipped": "no CUDA device"})
        return
    result = measure(a, Deadline(a.budget_s))
    from bench.gpu_tables import local_table

    print(local_table(result))
    print(f"{result['seconds']:.0f} s")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
