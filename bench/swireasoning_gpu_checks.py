"""The SwiReasoning GPU bench's exactness checks (run first by bench/swireasoning_gpu.py): the fused
step against the eager controller, from CUDA graphs too; the batched mixture against float64; the
captured plugin step against the eager one on a shard that holds the anchor ids and on one that does
not. Mixtures are compared row by row, each against its own size (a relative tolerance per row:
an absolute one lets rows of small norm, such as a flat distribution's mixture, pass with anything).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import Tensor

from bench.swireasoning_exact import SCENARIOS, STATE, compare, config, scenario_batch, scenario_slots
from bench.swireasoning_gpu_setup import CHECK_STEPS, DEV, DRY, HIDDEN, RANKS, VOCAB, graphed, inputs
from swireasoning.controller import SwiRController, SwiRParams
from swireasoning.engine_table import SwiRTable
from swireasoning.fused import FusedSwiRController
from swireasoning.fused_graph import SlotWrites, StepGraphs
from swireasoning.mixture import eager_blended_shard, fused_blended_shard

ROW_TOL = 2**-6  # bf16 probabilities and bf16 products (unit roundoff 2^-8 each), 4x margin
ZERO_FLOOR = 1e-3  # x ROW_TOL x max|E|: the only absolute slack, for rows whose true value is 0


def row_errors(got: Tensor, want: Tensor, emb_max: float) -> list[float]:
    """Each row's ||got - want|| / ||want|| (float64); a row that should be 0 is measured against
    a floor a thousand times below an embedding entry."""
    diff = (got.double() - want.double()).norm(dim=-1)
    scale = want.double().norm(dim=-1).clamp(min=ZERO_FLOOR * emb_max)
    return (diff / scale).tolist()


def check_graph(fused: bool) -> list[str]:
    """A controller's step captured once in a CUDA graph and replayed on fresh inputs copied into its
    static ones makes the eager controller's decisions, step after step (state carried in place)."""
    b, g, cfg = 4, torch.Generator(device=DEV).manual_seed(5), config()
    ref, fresh = SwiRController(cfg, b, DEV), SwiRController(cfg, b, DEV)
    cap: SwiRController = FusedSwiRController(cfg, b, DEV) if fused else SwiRController(cfg, b, DEV)
    logits, sampled = inputs(b, g)
    held = {}

    def run() -> None:
        held["d"] = (
            cap.fused_step(logits, sampled) if isinstance(cap, FusedSwiRController) else cap.step(logits, sampled)
        )

    replay = graphed(run)
    for name in STATE:  # the warm-up steps advanced it
        getattr(cap, name).copy_(getattr(fresh, name))
    bad: list[str] = []
    for t in range(CHECK_STEPS):
        new_logits, new_sampled = inputs(b, g)
        logits.copy_(new_logits)
        sampled.copy_(new_sampled)
        replay()
        bad += compare(f"graph t={t}", ref.step(logits, sampled), held["d"], ref, cap)
    return bad


def check_mixture(emb: Tensor, blended: Callable[..., Tensor]) -> list[str]:
    """The batched mixture from the fused step's statistics, summed over the eight shards, against
    the float64 blend, each row within ROW_TOL of its own norm (exact and per-row top-k rows):
    `blended` is the torch form or the Triton kernel's."""
    g = torch.Generator(device=DEV).manual_seed(6)
    logits, sampled = inputs(6, g)
    d = FusedSwiRController(config(), 6, DEV).step(logits, sampled)
    ks_host = [0, 1, 64, 0, 20, 0]
    ks = torch.tensor(ks_host, device=DEV)
    shard = VOCAB // RANKS
    total = torch.stack([blended(d, emb[s : s + shard], s, ks, 64, True) for s in range(0, VOCAB, shard)]).sum(0)
    p = torch.softmax(logits.double(), -1)
    top = torch.topk(p, 64, -1)
    want = []
    for row, k in enumerate(ks_host):
        w = p[row]
        if k:
            w = torch.zeros_like(w).scatter(0, top.indices[row, :k], top.values[row, :k] / top.values[row, :k].sum())
        mix = w @ emb.double()
        want.append(d.mix_weight[row].double() * mix + d.anchor_weight[row].double() * emb[d.anchor_id[row]].double())
    errors = row_errors(total, torch.stack(want), emb.abs().max().item())
    return [] if max(errors) <= ROW_TOL else [f"mixture: row errors {[f'{e:.2e}' for e in errors]} > {ROW_TOL:.2e}"]


def check_plugin_graph(emb: Tensor, rank: int) -> list[str]:
    """The captured plugin step (swireasoning/fused_graph.py) against the eager one, step after step,
    on changing subsets of the rows, on vocabulary shard `rank`: the eager controller's decisions,
    state and fed flags, and each row's torch mixture within ROW_TOL (top-k rows included). Shard 0
    holds the anchor ids (line break, <think>, </think>): there the anchor term inside the graph must
    have been exercised, or the check says it was not."""
    cfg, g = config(max_switch_count=None, alpha0=0.6), torch.Generator(device=DEV).manual_seed(7)
    start, size = rank * (VOCAB // RANKS), VOCAB // RANKS
    shard = emb[start : start + size]
    ref, new = SwiRTable(cfg, capacity=8, device=DEV), SwiRTable(cfg, capacity=8, device=DEV)
    ref.controller = SwiRController(cfg, 9, DEV)  # type: ignore[assignment]  # the eager reference
    rids, ks = ["a", "b", "c", "d", "e"], [0, 3, 0, 64, 0]
    for table in (ref, new):
        for rid in rids:
            table.admit(rid, SwiRParams(), max_new_tokens=60)
    writes = SlotWrites(torch.zeros(10, HIDDEN, dtype=emb.dtype, device=DEV),
                        torch.zeros(10, dtype=torch.bool, device=DEV))  # fmt: skip
    graphs, bad, anchored = StepGraphs(new, shard, start, VOCAB, max_rows=8, writes=writes), [], 0
    for t in range(max(CHECK_STEPS, 6)):
        batch = rids[: 3 + t % 3]
        logits, sampled = inputs(len(batch), g)
        want = ref.step(batch, logits, sampled)
        assert want is not None
        d = want.directive
        mix = eager_blended_shard(d, shard, start, torch.tensor(ks[: len(batch)], device=DEV), 64, True)
        anchored += int(((d.anchor_weight > 0) & (d.anchor_id >= start) & (d.anchor_id < start + size)).sum())
        graphs.logits[: len(batch)].copy_(logits)
        got = graphs.run(sampled, [new.slots[r] for r in batch], ks[: len(batch)], True)
        assert got.ids is not None and got.mixed is not None and got.directive is not None
        same = torch.equal(got.ids, want.ids) and torch.equal(got.directive.feed_mixture, d.feed_mixture)
        same = same and torch.equal(new.ever_fed[:8], ref.ever_fed[:8])
        same = same and all(torch.equal(getattr(new.controller, n)[:8], getattr(ref.controller, n)[:8]) for n in STATE)
        worst = max(row_errors(got.mixed, mix, emb.abs().max().item()))
        if not same or worst > ROW_TOL:
            bad.append(f"t={t}: decisions/state equal {same}, worst row error {worst:.3g}")
    if rank == 0 and anchored == 0:
        bad.append("shard 0: no row carried an anchor term, so the graph's anchor was not tested")
    return bad


def scenarios() -> dict[str, Callable[[int, str], list[str]]]:
    """The shared scenarios; shorter in a dry run (the CPU test suite runs them in full)."""
    if not DRY:
        return SCENARIOS
    short = {"batch": functools.partial(scenario_batch, steps=CHECK_STEPS),
             "slots": functools.partial(scenario_slots, steps=CHECK_STEPS)}  # fmt: skip
    return {**SCENARIOS, **short}


def checks(emb: Tensor) -> dict[str, list[str]]:
    out = {f"fused == eager, {name}": fn(VOCAB, DEV) for name, fn in scenarios().items()}
    out["fused == eager, fused step in a CUDA graph"] = check_graph(fused=True)
    out["eager step capturable, replayed == eager"] = check_graph(fused=False)
    out["batched mixture (torch form), each row within 2^-6 of float64"] = check_mixture(emb, eager_blended_shard)
    out["batched mixture (Triton kernel), each row within 2^-6 of float64"] = check_mixture(emb, fused_blended_shard)
    out["plugin step in a CUDA graph == eager, shard 0 (anchor ids inside)"] = check_plugin_graph(emb, 0)
    out["plugin step in a CUDA graph == eager, shard 1 (no anchor ids)"] = check_plugin_graph(emb, 1)
    return out
