"""The fused SwiReasoning step in Triton's interpreter on the CPU (runs in `.venv-sglang`, which has
triton): every scenario of bench/swireasoning_exact.py, a recorded tiny-model decode, and the batched
mixture built from the fused step's statistics (no softmax kept) against float64.

    TRITON_INTERPRET=1 PYTHONPATH=. .venv-sglang/bin/python tests/fused_check.py RECORD.pt
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
from swireasoning.controller import SwiRConfig
from swireasoning.fused import FusedSwiRController
from swireasoning.mixture import blended_shard

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


def main() -> int:
    bad = scenario_slots(VOCAB, "cpu", steps=6)  # random rows of every kind: the GPU bench runs 40 steps
    bad += scenario_rules(VOCAB, "cpu") + scenario_ties(VOCAB, "cpu") + mixture_from_stats()
    if len(sys.argv) > 1:
        saved = torch.load(sys.argv[1])
        bad += scenario_replay(saved["record"], SwiRConfig(**saved["cfg"]), "cpu")
    for line in bad[:20]:
        print("FAIL", line)
    print("fused ok" if not bad else f"{len(bad)} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
