"""The fused SwiReasoning step in Triton's interpreter on the CPU (runs in `.venv-sglang`, which has
triton): every scenario of bench/swireasoning_exact.py, a recorded tiny-model decode, the batched
mixture built from the fused step's statistics (no softmax kept) against float64 and its Triton kernel
against the torch form, and the plugin's captured step body (swireasoning/fused_graph.py, run
eagerly here) against the eager table step.

    TRITON_INTERPRET=1 PYTHONPATH=. .venv-sglang/bin/python tests/support/fused_check.py RECORD.pt
"""

from __future__ import annotations

import os
import sys

os.environ["TRITON_INTERPRET"] = "1"  # before triton compiles anything: kernels run on CPU tensors

import torch

from bench.swireasoning_exact import (
    config,
    scenario_replay,
    scenario_rules,
    scenario_slots,
    scenario_ties,
)
from swireasoning.controller import SwiRConfig, SwiRController, SwiRParams
from swireasoning.engine_table import SwiRTable
from swireasoning.fused import FusedSwiRController
from swireasoning.fused_graph import SlotWrites, StepGraphs
from swireasoning.mixture import blended_shard, eager_blended_shard, fused_blended_shard

VOCAB = 1500  # two programs per row (1,024 entries each): the split and its masks are exercised


def mixture_from_stats() -> list[str]:
    """blended_shard on a fused Directive (probs None): exact and per-row top-k, summed over 3 ranks,
    within bf16 rounding of the float64 blend."""
    g = torch.Generator().manual_seed(3)
    logits, emb = torch.randn(4, VOCAB, generator=g) * 3, torch.randn(VOCAB, 16, generator=g).bfloat16()
    d = FusedSwiRController(config(), 4).step(logits, torch.full((4,), 11))
    assert d.probs is None and d.row_max is not None
    ks = torch.tensor([0, 5, 0, 64])
    starts = [0, 500, 1000]
    total = sum(blended_shard(d, emb[s : s + 500], s, ks, 64, True) for s in starts)
    p = torch.softmax(logits.double(), -1)
    top = torch.topk(p, 64, -1)
    want = []
    for row, k in enumerate(ks.tolist()):
        if k:
            w = torch.zeros(VOCAB, dtype=torch.float64)
            w[top.indices[row, :k]] = top.values[row, :k] / top.values[row, :k].sum()
        else:
            w = p[row]
        mix = w @ emb.double()
        want.append(d.mix_weight[row].double() * mix + d.anchor_weight[row].double() * emb[d.anchor_id[row]].double())
    err = (total.double() - torch.stack(want)).abs().max().item()
    return [] if err < 1e-2 else [f"mixture from stats: max error {err}"]


def kernel_vs_torch() -> list[str]:
    """The Triton mixture (float32 product here) equals the torch form to float32 rounding, for a
    row count past one row block (BB = 16), shards with and without the anchor, top-k rows mixed in."""
    g = torch.Generator().manual_seed(4)
    logits, emb = torch.randn(20, VOCAB, generator=g) * 3, torch.randn(VOCAB, 48, generator=g)
    d = FusedSwiRController(config(), 20).step(logits, torch.full((20,), 11))
    d.mix_weight.uniform_(0.1, 1.0, generator=g)
    d.anchor_weight.uniform_(0.0, 1.0, generator=g)
    ks, bad = torch.tensor([0, 3, 0, 64] * 5), []
    for start, top in ((0, False), (500, True), (1000, True)):
        args = (d, emb[start : start + 500], start, ks if top else None, 64 if top else 0, True)
        err = (fused_blended_shard(*args) - eager_blended_shard(*args)).abs().max().item()
        bad += [f"kernel vs torch at shard {start}: {err}"] if err > 1e-5 else []
    return bad


def captured_step_body() -> list[str]:
    """StepGraphs' step (not captured on a CPU) vs the eager table + torch mixture: ids, flags,
    controller state, fed flags, slot writes, over batches that grow and shrink."""
    g = torch.Generator().manual_seed(8)
    cfg, emb = config(max_switch_count=None), torch.randn(VOCAB, 16, generator=g).bfloat16()
    ref, new = SwiRTable(cfg, capacity=6), SwiRTable(cfg, capacity=6)
    ref.controller = SwiRController(cfg, 7)  # type: ignore[assignment]  # the eager reference
    rids, ks = ["a", "b", "c", "d"], [0, 3, 0, 64]
    for table in (ref, new):
        for rid in rids:
            table.admit(rid, SwiRParams(), max_new_tokens=30)
    writes = SlotWrites(torch.zeros(8, 16, dtype=emb.dtype), torch.zeros(8, dtype=torch.bool))
    graphs, bad = StepGraphs(new, emb[500:1000], 500, VOCAB, max_rows=4, writes=writes), []
    for t in range(8):
        batch = rids[: 2 + t % 3]
        logits, sampled = torch.randn(len(batch), VOCAB, generator=g) * (1 + t % 4), torch.full((len(batch),), 11)
        want = ref.step(batch, logits, sampled)
        assert want is not None
        kst = torch.tensor(ks[: len(batch)])
        mix = eager_blended_shard(want.directive, emb[500:1000], 500, kst, 64, True)
        graphs.logits[: len(batch)].copy_(logits)
        got = graphs.run(sampled, [new.slots[r] for r in batch], ks[: len(batch)], True)
        assert got.ids is not None and got.mixed is not None and got.directive is not None
        same = torch.equal(got.ids, want.ids) and torch.equal(got.directive.feed_mixture, want.directive.feed_mixture)
        same = same and torch.equal(new.ever_fed[:6], ref.ever_fed[:6])
        same = same and torch.equal(writes.flag[got.slots], want.directive.feed_mixture)
        same = same and all(torch.equal(getattr(new.controller, n)[:6], getattr(ref.controller, n)[:6])
                            for n in ("step_", "mode", "stay", "count", "budget"))  # fmt: skip
        err = (got.mixed - mix).abs().max().item()
        bad += [f"captured step t={t}: equal {same}, mixture error {err}"] if not same or err > 2e-2 else []
    return bad


def main() -> int:
    bad = scenario_slots(VOCAB, "cpu", steps=6)  # random rows of every kind: the GPU bench runs 40 steps
    bad += scenario_rules(VOCAB, "cpu") + scenario_ties(VOCAB, "cpu") + mixture_from_stats()
    bad += kernel_vs_torch() + captured_step_body()
    if len(sys.argv) > 1:
        saved = torch.load(sys.argv[1])
        bad += scenario_replay(saved["record"], SwiRConfig(**saved["cfg"]), "cpu")
    for line in bad[:20]:
        print("FAIL", line)
    print("fused ok" if not bad else f"{len(bad)} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
