"""SwiReasoning's per-step work in the SGLang plugin on a GPU: the eager path as landed vs the fused one.

    python -m bench.swireasoning_gpu        # table on stdout; with $OUT set, also $OUT/swir16.json
    SWIR_BENCH_DRY_RUN=1 TRITON_INTERPRET=1 python -m bench.swireasoning_gpu   # the script on a CPU, tiny

Vocabulary 248,320, hidden 4,096, bf16 embedding, float32 logits, a 1/8 vocabulary shard (one rank of
eight); B = 1, 8, 32, 64, 128. GPU times are CUDA-event medians; "wall" rows are host time per step
over a run of steps ended by one sync (what a step costs when nothing waits for it). Each figure is
also given as a ratio to its floor (bytes it must read at the measured copy bandwidth). Then the
exactness checks: the fused step against the eager controller on CUDA (PASS/FAIL).

Imports only torch, triton and swireasoning/ (the GPU machine has no pydantic, sglang, ...).
Skips with a reason where there is no CUDA device or no triton.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from bench.swireasoning_exact import SCENARIOS, config
from swireasoning.controller import SwiRConfig, SwiRController, SwiRParams
from swireasoning.engine_table import StepInfo, SwiRTable, info_of
from swireasoning.fused import FusedSwiRController, triton_kernels
from swireasoning.fused_graph import SlotWrites, StepGraphs
from swireasoning.mixture import (
    blend,
    blended_shard,
    eager_blended_shard,
    fused_blended_shard,
    launch_mix,
    mixture_shard,
)

log = logging.getLogger("bench.swireasoning_gpu")
DRY = os.environ.get("SWIR_BENCH_DRY_RUN") == "1"  # every line of the script on a CPU, tiny sizes
DEV = "cpu" if DRY else "cuda"
VOCAB, HIDDEN, RANKS = (2400, 64, 8) if DRY else (248_320, 4096, 8)
BATCHES = (1, 8) if DRY else (1, 8, 32, 64, 128)


def sync() -> None:
    if not DRY:
        torch.cuda.synchronize()


def gpu_ms(fn: Callable[[], object], iters: int = 30, warmup: int = 3) -> float:
    """Median CUDA-event time of one call, in ms."""
    if DRY:
        return wall_ms(fn)
    for _ in range(warmup):
        fn()
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
    for start, end in events:
        start.record()
        fn()
        end.record()
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in events)


def wall_ms(fn: Callable[[], object], iters: int = 30, warmup: int = 3) -> float:
    """Host time per call over `iters` calls and one final sync, in ms."""
    if DRY:
        iters, warmup = 1, 0
    for _ in range(warmup):
        fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    sync()
    return (time.perf_counter() - t0) * 1e3 / iters


def graphed(fn: Callable[[], object]) -> Callable[[], object]:
    """fn captured in a CUDA graph (its inputs and state are static tensors): returns the replay."""
    if DRY:
        for _ in range(2):
            fn()
        return fn
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay


def bandwidth() -> float:
    """Device-to-device copy, bytes read per ms (read + write counted, as the floor reads only)."""
    src = torch.empty(1 << (20 if DRY else 30), dtype=torch.uint8, device=DEV)
    dst = torch.empty_like(src)
    ms = gpu_ms(lambda: dst.copy_(src), iters=10)
    return 2 * src.numel() / ms


def inputs(b: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    logits = torch.randn(b, VOCAB, generator=g, device=DEV) * (torch.rand(b, 1, generator=g, device=DEV) * 6)
    return logits, torch.randint(9, VOCAB, (b,), generator=g, device=DEV)


def controller_rows(b: int, logits: torch.Tensor, sampled: torch.Tensor) -> dict[str, float]:
    cfg = config(max_switch_count=None)
    eager, fused = SwiRController(cfg, b, DEV), FusedSwiRController(cfg, b, DEV)
    out = {
        "controller eager": gpu_ms(lambda: eager._step(logits, sampled)),  # as landed (no in-place copy-back)
        "controller fused": gpu_ms(lambda: fused.step(logits, sampled)),
    }
    replay = graphed(lambda: fused.fused_step(logits, sampled))
    out["controller fused, CUDA graph"] = gpu_ms(replay)
    captured = SwiRController(cfg, b, DEV)
    try:
        out["controller eager, CUDA graph"] = gpu_ms(graphed(lambda: captured.step(logits, sampled)))
    except RuntimeError:
        log.exception("the eager step did not capture")
        out["controller eager, CUDA graph"] = float("nan")
    return out


def table_rows(b: int, logits: torch.Tensor, sampled: torch.Tensor) -> dict[str, float]:
    """The plugin's table step and its per-token entries, as landed (host syncs) and now."""
    cfg = config(max_switch_count=None)
    rids = [f"r{i}" for i in range(b)]
    old, new = SwiRTable(cfg, capacity=4096, device=DEV), SwiRTable(cfg, capacity=4096, device=DEV)
    old.controller = SwiRController(cfg, 4096, DEV)  # the eager controller, as landed
    for table in (old, new):
        for rid in rids:
            table.admit(rid, SwiRParams(), max_new_tokens=38912)

    def landed() -> None:
        outcome = old.step(rids, logits, sampled)
        assert outcome is not None
        info_of(outcome.directive).tolist()  # as landed: feed flags and entries read at once (syncs)

    def ours() -> None:
        outcome = new.step(rids, logits, sampled)
        assert outcome is not None
        outcome.step_info(b)  # the copy starts; read after SGLang's own sync

    return {
        "table step + step_info eager (wall)": wall_ms(landed),
        "table step + step_info fused (wall)": wall_ms(ours),
    }


def mixture_rows(b: int, logits: torch.Tensor, sampled: torch.Tensor, emb: torch.Tensor) -> dict[str, float]:
    shard, start = emb[: VOCAB // RANKS], 0
    d = FusedSwiRController(config(), b, DEV).step(logits, sampled)
    de = SwiRController(config(), b, DEV).step(logits, sampled)
    assert de.probs is not None
    probs = de.probs

    def per_row(k: int | None) -> Callable[[], object]:
        def run() -> None:  # as stash_mixtures looped (one all-reduce per row left out: one rank)
            for row in range(b):
                mix = mixture_shard(probs[row : row + 1], shard, start, k)
                anchor = shard[de.anchor_id[row : row + 1]]
                blend(mix, de.mix_weight[row : row + 1], anchor, de.anchor_weight[row : row + 1])

        return run

    ks = torch.full((b,), 64, device=DEV)
    out = {
        "mixture shard per row": gpu_ms(per_row(None), iters=10),
        "mixture shard batched, torch": gpu_ms(lambda: eager_blended_shard(d, shard, start)),
        "mixture shard batched": gpu_ms(lambda: blended_shard(d, shard, start)),
        "top-64 shard batched": gpu_ms(lambda: blended_shard(d, shard, start, ks, 64, any_exact=False)),
        "exact full vocabulary batched": gpu_ms(lambda: blended_shard(d, emb, 0)),
    }
    kernels, acc = triton_kernels(), torch.zeros(b, HIDDEN, device=DEV)
    for bd, name in ((0, "mixture kernel alone"), (256, "mixture kernel alone, 256 columns a block")):
        out[name] = gpu_ms(lambda bd=bd: launch_mix(kernels, d, shard, start, d.mix_weight, acc, bd))  # type: ignore[misc]
    if b in (8, 64):
        out["top-64 shard per row"] = gpu_ms(per_row(64), iters=5)
    return out


def plugin_rows(b: int, logits: torch.Tensor, sampled: torch.Tensor, emb: torch.Tensor) -> dict[str, float]:
    """What around_sample adds per decode step with every row SwiReasoning (one rank, no all-reduce):
    the logits clone, the table step, the id write, the batched mixture, the slot writes."""
    cfg = config(max_switch_count=None)
    table, rids = SwiRTable(cfg, capacity=4096, device=DEV), [f"r{i}" for i in range(b)]
    for rid in rids:
        table.admit(rid, SwiRParams(), max_new_tokens=38912)
    slot_embeds = torch.zeros(4097, HIDDEN, dtype=emb.dtype, device=DEV)
    slot_flag = torch.zeros(4097, dtype=torch.bool, device=DEV)
    shard, next_ids = emb[: VOCAB // RANKS], sampled.clone()

    def step() -> None:
        raw = logits.clone()
        outcome = table.step(rids, raw, next_ids)
        assert outcome is not None and outcome.slots is not None
        next_ids.copy_(outcome.ids)
        mixed = blended_shard(outcome.directive, shard, 0)
        slot_embeds[outcome.slots] = mixed.to(slot_embeds.dtype)
        slot_flag[outcome.slots] = outcome.directive.feed_mixture
        outcome.step_info(b)

    out = {"plugin step, all rows (GPU)": gpu_ms(step), "plugin step, all rows (wall)": wall_ms(step)}
    graphs, slots = graph_plugin(cfg, b, shard, rids)

    def replayed() -> None:  # as graphed_sample: logits into the graph's input, replay, ids, entries
        graphs.logits[:b].copy_(logits)
        captured = graphs.run(sampled, slots, [0] * b, True)
        assert captured.ids is not None and captured.directive is not None
        next_ids.copy_(captured.ids)
        StepInfo(info_of(captured.directive), list(range(b)), b)

    out["plugin step, CUDA graph, all rows (GPU)"] = gpu_ms(replayed)
    out["plugin step, CUDA graph, all rows (wall)"] = wall_ms(replayed)
    return out


def graph_plugin(cfg: SwiRConfig, b: int, shard: torch.Tensor, rids: list[str]) -> tuple[StepGraphs, list[int]]:
    """A table with every row admitted and its captured plugin steps (one rank: slot writes inside)."""
    table = SwiRTable(cfg, capacity=4096, device=DEV)
    for rid in rids:
        table.admit(rid, SwiRParams(), max_new_tokens=38912)
    writes = SlotWrites(torch.zeros(4098, HIDDEN, dtype=shard.dtype, device=DEV),
                        torch.zeros(4098, dtype=torch.bool, device=DEV))  # fmt: skip
    graphs = StepGraphs(table, shard, 0, VOCAB, max_rows=max(BATCHES), writes=writes)
    return graphs, [table.slots[r] for r in rids]


def check_graph(fused: bool) -> list[str]:
    """A controller's step captured once in a CUDA graph and replayed on fresh inputs copied into its
    static ones makes the eager controller's decisions, step after step (state carried in place)."""
    from bench.swireasoning_exact import STATE, compare

    b, g, cfg = 4, torch.Generator(device=DEV).manual_seed(5), config()
    ref, fresh = SwiRController(cfg, b, DEV), SwiRController(cfg, b, DEV)
    cap = FusedSwiRController(cfg, b, DEV) if fused else SwiRController(cfg, b, DEV)
    logits, sampled = inputs(b, g)
    held = {}

    def run() -> None:
        fused_cap = isinstance(cap, FusedSwiRController)
        held["d"] = cap.fused_step(logits, sampled) if fused_cap else cap.step(logits, sampled)

    replay = graphed(run)
    for name in STATE:  # the warm-up steps advanced it
        getattr(cap, name).copy_(getattr(fresh, name))
    bad: list[str] = []
    for t in range(30):
        new_logits, new_sampled = inputs(b, g)
        logits.copy_(new_logits)
        sampled.copy_(new_sampled)
        replay()
        bad += compare(f"graph t={t}", ref.step(logits, sampled), held["d"], ref, cap)
    return bad


def check_mixture(emb: torch.Tensor, blended: Callable[..., torch.Tensor] = blended_shard) -> list[str]:
    """The batched mixture from the fused step's statistics, summed over the eight shards, within
    bf16 rounding of the float64 blend (exact and per-row top-k rows): `blended` is the torch form
    or the Triton kernel's."""
    g = torch.Generator(device=DEV).manual_seed(6)
    logits, sampled = inputs(6, g)
    d = FusedSwiRController(config(), 6, DEV).step(logits, sampled)
    ks_host = [0, 1, 64, 0, 20, 0]
    ks = torch.tensor(ks_host, device=DEV)
    shard = VOCAB // RANKS
    total = sum(blended(d, emb[s : s + shard], s, ks, 64, True) for s in range(0, VOCAB, shard))
    p = torch.softmax(logits.double(), -1)
    top = torch.topk(p, 64, -1)
    want = []
    for row, k in enumerate(ks_host):
        w = p[row]
        if k:
            w = torch.zeros_like(w).scatter(0, top.indices[row, :k], top.values[row, :k] / top.values[row, :k].sum())
        mix = w @ emb.double()
        want.append(d.mix_weight[row].double() * mix + d.anchor_weight[row].double() * emb[d.anchor_id[row]].double())
    err = (total.double() - torch.stack(want)).abs().max().item()
    bound = 2**-8 * emb.abs().max().item()
    return [] if err <= bound else [f"mixture: max error {err:.3g} > {bound:.3g}"]


def check_plugin_graph(emb: torch.Tensor) -> list[str]:
    """The captured plugin step (swireasoning/fused_graph.py) against the eager one, step after step,
    on changing subsets of the rows: the eager controller's decisions, state and fed flags, and
    the torch mixture within bf16 (top-k rows included)."""
    from bench.swireasoning_exact import STATE

    cfg, g = config(max_switch_count=None), torch.Generator(device=DEV).manual_seed(7)
    shard, start = emb[VOCAB // RANKS : 2 * VOCAB // RANKS], VOCAB // RANKS
    ref, new = SwiRTable(cfg, capacity=8, device=DEV), SwiRTable(cfg, capacity=8, device=DEV)
    ref.controller = SwiRController(cfg, 9, DEV)  # type: ignore[assignment]  # the eager reference
    rids, ks = ["a", "b", "c", "d", "e"], [0, 3, 0, 64, 0]
    for table in (ref, new):
        for rid in rids:
            table.admit(rid, SwiRParams(), max_new_tokens=60)
    writes = SlotWrites(torch.zeros(10, HIDDEN, dtype=emb.dtype, device=DEV),
                        torch.zeros(10, dtype=torch.bool, device=DEV))  # fmt: skip
    graphs, bad = StepGraphs(new, shard, start, VOCAB, max_rows=8, writes=writes), []
    for t in range(30):
        batch = rids[: 3 + t % 3]
        logits, sampled = inputs(len(batch), g)
        want = ref.step(batch, logits, sampled)
        assert want is not None
        mix = eager_blended_shard(want.directive, shard, start, torch.tensor(ks[: len(batch)], device=DEV), 64, True)
        graphs.logits[: len(batch)].copy_(logits)
        got = graphs.run(sampled, [new.slots[r] for r in batch], ks[: len(batch)], True)
        assert got.ids is not None and got.mixed is not None and got.directive is not None
        same = torch.equal(got.ids, want.ids) and torch.equal(got.directive.feed_mixture, want.directive.feed_mixture)
        same = same and torch.equal(new.ever_fed[:8], ref.ever_fed[:8])
        same = same and all(torch.equal(getattr(new.controller, n)[:8], getattr(ref.controller, n)[:8]) for n in STATE)
        err = (got.mixed - mix).abs().max().item()
        if not same or err > 2**-8 * emb.abs().max().item():
            bad.append(f"t={t}: decisions/state equal {same}, mixture error {err:.3g}")
    return bad


def checks(emb: torch.Tensor) -> dict[str, list[str]]:
    out = {f"fused == eager, {name}": fn(VOCAB, DEV) for name, fn in SCENARIOS.items()}
    out["fused == eager, fused step in a CUDA graph"] = check_graph(fused=True)
    out["eager step capturable, replayed == eager"] = check_graph(fused=False)
    out["batched mixture (torch form) within bf16 of float64"] = check_mixture(emb, eager_blended_shard)
    out["batched mixture (Triton kernel) within bf16 of float64"] = check_mixture(emb, fused_blended_shard)
    out["plugin step in a CUDA graph == eager plugin step"] = check_plugin_graph(emb)
    return out


FLOORS = {  # row -> what it must read at least: (logits rows, shard reads, full-embedding reads)
    "controller eager": (1, 0, 0), "controller fused": (1, 0, 0), "controller fused, CUDA graph": (1, 0, 0),
    "controller eager, CUDA graph": (1, 0, 0), "mixture shard per row": (0, 1, 0),
    "mixture shard batched": (0, 1, 0), "mixture shard batched, torch": (0, 1, 0),
    "mixture kernel alone": (0, 1, 0), "mixture kernel alone, 256 columns a block": (0, 1, 0),
    "top-64 shard batched": (0, 0, 0), "top-64 shard per row": (0, 0, 0),
    "exact full vocabulary batched": (0, 0, 1), "plugin step, all rows (GPU)": (1, 1, 0),
    "plugin step, CUDA graph, all rows (GPU)": (1, 1, 0),
}  # fmt: skip


ORDER = (
    "controller eager", "controller eager, CUDA graph", "controller fused", "controller fused, CUDA graph",
    "table step + step_info eager (wall)", "table step + step_info fused (wall)", "mixture shard per row",
    "mixture shard batched, torch", "mixture shard batched", "mixture kernel alone",
    "mixture kernel alone, 256 columns a block",
    "top-64 shard per row", "top-64 shard batched", "exact full vocabulary batched",
    "plugin step, all rows (GPU)", "plugin step, all rows (wall)", "plugin extra work, less the shard read (GPU)",
    "plugin step, CUDA graph, all rows (GPU)", "plugin step, CUDA graph, all rows (wall)",
    "plugin extra work, less the shard read, CUDA graph (GPU)",
)  # fmt: skip


def measure(emb: torch.Tensor, bw: float) -> dict[str, dict[int, dict[str, float]]]:
    table: dict[str, dict[int, dict[str, float]]] = {}
    g = torch.Generator(device=DEV).manual_seed(0)
    for b in BATCHES:
        logits, sampled = inputs(b, g)
        rows: dict[str, float] = {}
        for group in (controller_rows, table_rows, mixture_rows, plugin_rows):
            try:
                args = (b, logits, sampled) if group in (controller_rows, table_rows) else (b, logits, sampled, emb)
                rows |= group(*args)
            except Exception:  # one GPU session: keep the other rows
                log.exception("%s failed at B=%d", group.__name__, b)
        floor_shard = VOCAB // RANKS * HIDDEN * 2 / bw
        for name, ms in rows.items():
            n_logits, n_shard, n_full = FLOORS.get(name, (0, 0, 0))
            floor = (n_logits * b * VOCAB * 4 + (n_shard / RANKS + n_full) * VOCAB * HIDDEN * 2) / bw
            table.setdefault(name, {})[b] = {"ms": ms, "floor_ms": floor}
        for path in ("", ", CUDA graph"):
            extra = rows.get(f"plugin step{path}, all rows (GPU)", float("nan")) - floor_shard
            name = f"plugin extra work, less the shard read{path} (GPU)"
            table.setdefault(name, {})[b] = {"ms": extra, "floor_ms": 0.0}
        log.info("B=%d measured", b)
    return table


def render(table: dict[str, dict[int, dict[str, float]]]) -> str:
    lines = ["| per decode step | " + " | ".join(f"B={b}" for b in BATCHES) + " |", "|---" * (len(BATCHES) + 1) + "|"]
    order = [*ORDER, *(name for name in table if name not in ORDER)]
    for name, cells in ((n, table[n]) for n in order if n in table):
        shown = []
        for b in BATCHES:
            cell = cells.get(b)
            if cell is None:
                shown.append("—")
            elif cell["floor_ms"] > 0:
                shown.append(f"{cell['ms']:.3f} ms ({cell['ms'] / cell['floor_ms']:.1f}× floor)")
            else:
                shown.append(f"{cell['ms']:.3f} ms")
        lines.append(f"| {name} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not DRY and not torch.cuda.is_available():
        print("SKIP: no CUDA device; this bench times the GPU path (tests cover the CPU one).")
        return 0
    if triton_kernels() is None:
        print("SKIP: triton is not installed; the fused step needs it on CUDA.")
        return 0
    t0 = time.perf_counter()
    bw = bandwidth()
    emb = (torch.randn(VOCAB, HIDDEN, device=DEV) * 0.02).to(torch.bfloat16)
    results = checks(emb)
    table = measure(emb, bw)
    name = "CPU (dry run)" if DRY else torch.cuda.get_device_name()
    print(f"{name}: copy bandwidth {bw / 1e9:.2f} TB/s (bytes read per s)")
    print(render(table))
    for name, bad in results.items():
        why = f": {len(bad)} mismatches, " + "; ".join(bad[:5]) if bad else ""
        print(f"{'PASS' if not bad else 'FAIL'} {name}{why}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    if os.environ.get("OUT"):
        payload = {"device": name, "bandwidth_tb_s": bw / 1e9,
                   "table": {k: {str(b): v for b, v in cells.items()} for k, cells in table.items()},
                   "checks": {k: v for k, v in results.items()}}  # fmt: skip
        Path(os.environ["OUT"], "swir16.json").write_text(json.dumps(payload, indent=1))
    return 1 if any(results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
