"""SwiReasoning's per-step work in the SGLang plugin on a GPU: the eager path as landed vs the fused one.

    python -m bench.swireasoning_gpu        # table on stdout; with $OUT set, $OUT/swireasoning_gpu.json
    SWIR_BENCH_DRY_RUN=1 TRITON_INTERPRET=1 python -m bench.swireasoning_gpu   # the script on a CPU, tiny

Vocabulary 248,320, hidden 4,096, bf16 embedding, float32 logits, a 1/8 vocabulary shard (one rank of
eight); B = 1, 8, 32, 64, 128. GPU rows: CUDA events around each call, the L2 cache flushed before
each (outside the events), 30 calls: median and spread. "Wall" rows: host time per call over 30
calls ended by one sync (what a step costs when nothing waits for it), three times. The per-step
rows draw their inputs in turn from sets larger than twice the L2 cache. Each GPU figure is also
given against its floor: the bytes it must read (embedding rows and float32 logits) at the measured
read bandwidth (a reduction over 1 GiB; the copy bandwidth counts each byte twice and is kept for
reference). The TP all-reduce is timed on a 1-rank group: its launch cost only, not the exchange
between eight GPUs, which one GPU cannot show. The exactness checks run first
(bench/swireasoning_gpu_checks.py, PASS/FAIL).

Imports only torch, triton and swireasoning/ (the GPU machine has no pydantic, sglang, ...).
Skips with a reason where there is no CUDA device or no triton.
"""

from __future__ import annotations

import functools
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from bench.gpu_common import machine, read_bandwidth, write_json
from bench.swireasoning_exact import config
from bench.swireasoning_gpu_checks import checks
from bench.swireasoning_gpu_setup import BATCHES, DEV, DRY, HIDDEN, RANKS, VOCAB, Fresh, Timer, graphed
from swireasoning.controller import SwiRConfig, SwiRController, SwiRParams
from swireasoning.engine_table import StepInfo, SwiRTable, info_of
from swireasoning.fused import FusedSwiRController, triton_kernels
from swireasoning.fused_graph import SlotWrites, StepGraphs
from swireasoning.mixture import blend, blended_shard, eager_blended_shard, launch_mix, mixture_shard

log = logging.getLogger("bench.swireasoning_gpu")
JSON_NAME = "swireasoning_gpu.json"
ALL_REDUCE = "TP all-reduce of the mixture [B, 4096] f32, 1-rank group (launch only)"


def controller_rows(t: Timer, b: int, fresh: Fresh) -> dict[str, Any]:
    cfg = config(max_switch_count=None)
    eager, fused = SwiRController(cfg, b, DEV), FusedSwiRController(cfg, b, DEV)
    out = {
        "controller eager": t.gpu(lambda: eager._step(*fresh.next())),  # as landed (no in-place copy-back)
        "controller fused": t.gpu(lambda: fused.step(*fresh.next())),
    }
    logits, sampled = fresh.next()
    out["controller fused, CUDA graph"] = t.gpu(graphed(lambda: fused.fused_step(logits, sampled)))
    captured = SwiRController(cfg, b, DEV)
    try:
        out["controller eager, CUDA graph"] = t.gpu(graphed(lambda: captured.step(logits, sampled)))
    except RuntimeError:
        log.exception("the eager step did not capture")
    return out


def table_rows(t: Timer, b: int, fresh: Fresh) -> dict[str, Any]:
    """The plugin's table step and its per-token entries, as landed (host syncs) and now."""
    cfg = config(max_switch_count=None)
    rids = [f"r{i}" for i in range(b)]
    old, new = SwiRTable(cfg, capacity=4096, device=DEV), SwiRTable(cfg, capacity=4096, device=DEV)
    old.controller = SwiRController(cfg, 4096, DEV)  # type: ignore[assignment]  # the eager controller, as landed
    for table in (old, new):
        for rid in rids:
            table.admit(rid, SwiRParams(), max_new_tokens=38912)

    def landed() -> None:
        outcome = old.step(rids, *fresh.next())
        assert outcome is not None
        info_of(outcome.directive).tolist()  # as landed: feed flags and entries read at once (syncs)

    def ours() -> None:
        outcome = new.step(rids, *fresh.next())
        assert outcome is not None
        outcome.step_info(b)  # the copy starts; read after SGLang's own sync

    return {"table step + step_info eager (wall)": t.wall(landed), "table step + step_info fused (wall)": t.wall(ours)}


def mixture_rows(t: Timer, b: int, fresh: Fresh, emb: torch.Tensor) -> dict[str, Any]:
    shard, start = emb[: VOCAB // RANKS], 0
    fused, eager = FusedSwiRController(config(), b, DEV), SwiRController(config(), b, DEV)
    pairs = [(fused.step(*s), eager.step(*s)) for s in fresh.sets]  # each set's decisions, fused and eager
    turn = iter(range(1 << 62))

    def nxt() -> tuple[Any, Any]:
        return pairs[next(turn) % len(pairs)]

    def per_row(k: int | None) -> Callable[[], object]:
        def run() -> None:  # as stash_mixtures looped (one all-reduce per row left out: one rank)
            de = nxt()[1]
            assert de.probs is not None
            for row in range(b):
                mix = mixture_shard(de.probs[row : row + 1], shard, start, k)
                blend(
                    mix,
                    de.mix_weight[row : row + 1],
                    shard[de.anchor_id[row : row + 1]],
                    de.anchor_weight[row : row + 1],
                )

        return run

    ks = torch.full((b,), 64, device=DEV)
    out = {
        "mixture shard per row": t.gpu(per_row(None), iters=10),
        "mixture shard batched, torch": t.gpu(lambda: eager_blended_shard(nxt()[0], shard, start)),
        "mixture shard batched": t.gpu(lambda: blended_shard(nxt()[0], shard, start)),
        "top-64 shard batched": t.gpu(lambda: blended_shard(nxt()[0], shard, start, ks, 64, any_exact=False)),
        "exact full vocabulary batched": t.gpu(lambda: blended_shard(nxt()[0], emb, 0)),
    }
    kernels, acc = triton_kernels(), torch.zeros(b, HIDDEN, device=DEV)

    def kernel_alone(bd: int) -> None:
        d = nxt()[0]
        launch_mix(kernels, d, shard, start, d.mix_weight, acc, bd)

    out["mixture kernel alone"] = t.gpu(lambda: kernel_alone(0))
    out["mixture kernel alone, 256 columns a block"] = t.gpu(lambda: kernel_alone(256))
    if b in (8, 64) or (DRY and b == BATCHES[-1]):
        out["top-64 shard per row"] = t.gpu(per_row(64), iters=5)
    return out


def plugin_rows(t: Timer, b: int, fresh: Fresh, emb: torch.Tensor) -> dict[str, Any]:
    """What around_sample adds per decode step with every row SwiReasoning (one rank, no all-reduce):
    the logits clone, the table step, the id write, the batched mixture, the slot writes."""
    cfg = config(max_switch_count=None)
    table, rids = SwiRTable(cfg, capacity=4096, device=DEV), [f"r{i}" for i in range(b)]
    for rid in rids:
        table.admit(rid, SwiRParams(), max_new_tokens=38912)
    slot_embeds = torch.zeros(4097, HIDDEN, dtype=emb.dtype, device=DEV)
    slot_flag = torch.zeros(4097, dtype=torch.bool, device=DEV)
    shard, next_ids = emb[: VOCAB // RANKS], fresh.sets[0][1].clone()

    def step() -> None:
        raw = fresh.next()[0].clone()
        outcome = table.step(rids, raw, next_ids)
        assert outcome is not None and outcome.slots is not None
        next_ids.copy_(outcome.ids)
        mixed = blended_shard(outcome.directive, shard, 0)
        slot_embeds[outcome.slots] = mixed.to(slot_embeds.dtype)
        slot_flag[outcome.slots] = outcome.directive.feed_mixture
        outcome.step_info(b)

    out = {"plugin step, all rows (GPU)": t.gpu(step), "plugin step, all rows (wall)": t.wall(step)}
    graphs, slots = graph_plugin(cfg, b, shard, rids)

    def replayed() -> None:  # as graphed_sample: logits into the graph's input, replay, ids, entries
        logits, sampled = fresh.next()
        graphs.logits[:b].copy_(logits)
        captured = graphs.run(sampled, slots, [0] * b, True)
        assert captured.ids is not None and captured.directive is not None
        next_ids.copy_(captured.ids)
        StepInfo(info_of(captured.directive), list(range(b)), b)

    out["plugin step, CUDA graph, all rows (GPU)"] = t.gpu(replayed)
    out["plugin step, CUDA graph, all rows (wall)"] = t.wall(replayed)
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


@contextmanager
def one_rank_group() -> Iterator[Any]:
    """A torch.distributed world of one (NCCL on CUDA, gloo in a dry run), or None where none starts."""
    import datetime

    import torch.distributed as dist

    with tempfile.TemporaryDirectory() as tmp:  # the file store removes its file when the group ends
        try:
            dist.init_process_group("gloo" if DRY else "nccl", init_method=f"file://{tmp}/store", rank=0,
                                    world_size=1, timeout=datetime.timedelta(seconds=60))  # fmt: skip
        except Exception:
            log.exception("no 1-rank process group: the all-reduce row is missing")
            yield None
            return
        try:
            yield dist
        finally:
            dist.destroy_process_group()


def all_reduce_rows(t: Timer, b: int, dist: Any) -> dict[str, Any]:
    """The plugin's one all-reduce per step of the rows' float32 mixtures, on a 1-rank group."""
    if dist is None:
        return {}
    x = torch.zeros(b, HIDDEN, dtype=torch.float32, device=DEV)
    return {ALL_REDUCE: t.gpu(lambda: dist.all_reduce(x))}


FLOOR_PARTS = {  # row -> what it must read at least (see floor_bytes)
    "controller eager": ("logits",), "controller fused": ("logits",), "controller fused, CUDA graph": ("logits",),
    "controller eager, CUDA graph": ("logits",), "mixture shard per row": ("shard", "shard_logits"),
    "mixture shard batched": ("shard", "shard_logits"), "mixture shard batched, torch": ("shard", "shard_logits"),
    "mixture kernel alone": ("shard", "shard_logits"),
    "mixture kernel alone, 256 columns a block": ("shard", "shard_logits"),
    "top-64 shard batched": ("logits", "topk"), "top-64 shard per row": ("logits", "topk"),
    "exact full vocabulary batched": ("full", "logits"), "plugin step, all rows (GPU)": ("shard", "logits"),
    "plugin step, CUDA graph, all rows (GPU)": ("shard", "logits"),
}  # fmt: skip


def floor_bytes(name: str, b: int) -> int:
    """Bytes a row must read: float32 logits (all, or the shard's columns), the bf16 shard or whole
    embedding, the top-64 rows' embeddings."""
    size = {"logits": b * VOCAB * 4, "shard_logits": b * (VOCAB // RANKS) * 4, "shard": VOCAB // RANKS * HIDDEN * 2,
            "full": VOCAB * HIDDEN * 2, "topk": b * 64 * HIDDEN * 2}  # fmt: skip
    return sum(size[part] for part in FLOOR_PARTS.get(name, ()))


def extra_work(rows: dict[str, Any], b: int, read_bps: float) -> dict[str, Any]:
    """The plugin step less its shard read at the floor: the work it adds beyond that one read."""
    shard_ms = floor_bytes("mixture shard batched", b) / read_bps * 1e3
    out = {}
    for path in ("", ", CUDA graph"):
        cell = rows.get(f"plugin step{path}, all rows (GPU)")
        if cell is not None:
            out[f"plugin extra work, less the shard read{path} (GPU)"] = {"median": cell["median"] - shard_ms}
    return out


def measure(emb: torch.Tensor, read_bps: float, t: Timer, dist: Any) -> dict[str, dict[str, Any]]:
    """table[row name][str(B)] = {"ms": spread, "floor_ms", "floor_bytes"}; inputs drawn fresh per B."""
    table: dict[str, dict[str, Any]] = {}
    g = torch.Generator(device=DEV).manual_seed(0)
    for b in BATCHES:
        fresh, rows = Fresh(b, g, t.flush.l2_bytes), dict[str, Any]()
        groups: list[Callable[[], dict[str, Any]]] = [
            functools.partial(controller_rows, t, b, fresh),
            functools.partial(table_rows, t, b, fresh),
            functools.partial(mixture_rows, t, b, fresh, emb),
            functools.partial(plugin_rows, t, b, fresh, emb),
            functools.partial(all_reduce_rows, t, b, dist),
        ]
        for group in groups:
            try:
                rows |= group()
            except Exception:  # one GPU session: keep the other rows
                log.exception("a group of rows failed at B=%d", b)
        rows |= extra_work(rows, b, read_bps)
        for name, cell in rows.items():
            need = floor_bytes(name, b)
            table.setdefault(name, {})[str(b)] = {"ms": cell, "floor_bytes": need, "floor_ms": need / read_bps * 1e3,
                                                  "fresh_input_bytes": fresh.bytes}  # fmt: skip
        log.info("B=%d measured", b)
    return table


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not DRY and not torch.cuda.is_available():
        print("SKIP: no CUDA device; this bench times the GPU path (tests cover the CPU one).")
        write_json(JSON_NAME, {"skipped": "no CUDA device"})
        return 0
    if triton_kernels() is None:
        print("SKIP: triton is not installed; the fused step needs it on CUDA.")
        write_json(JSON_NAME, {"skipped": "no triton"})
        return 0
    t0, timer = time.perf_counter(), Timer()
    bw = read_bandwidth(DEV)
    payload: dict[str, Any] = {
        "machine": machine("CPU (dry run)" if DRY else torch.cuda.get_device_name()), "bandwidth": bw,
        "sizes": {"vocab": VOCAB, "hidden": HIDDEN, "ranks": RANKS, "batches": list(BATCHES)},
        "method": {"gpu_rows": "CUDA events per call, L2 flushed before each, 30 calls",
                   "wall_rows": "30 calls + 1 sync, 3 times",
                   "l2_bytes": timer.flush.l2_bytes, "floor": "bytes read / read bandwidth",
                   "all_reduce": "1-rank group: launch cost only; the TP-8 exchange is not measured"},
    }  # fmt: skip
    emb = (torch.randn(VOCAB, HIDDEN, device=DEV) * 0.02).to(torch.bfloat16)
    payload["checks"] = checks(emb)
    write_json(JSON_NAME, payload)
    with one_rank_group() as dist:
        payload["table"] = measure(emb, bw["read_Bps"], timer, dist)
    payload["seconds"] = time.perf_counter() - t0
    write_json(JSON_NAME, payload)
    from bench.gpu_tables import swireasoning_table

    print(swireasoning_table(payload))
    print(f"total {payload['seconds']:.0f} s")
    return 1 if any(payload["checks"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
