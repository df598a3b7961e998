"""The fused SwiReasoning step against the eager controller, decision for decision: scenarios shared by
the GPU bench (bench/swireasoning_gpu.py, on CUDA) and the CPU test (tests/support/fused_check.py, Triton's
interpreter). Imports only torch and swireasoning/.

Each scenario drives an eager `SwiRController` and a `FusedSwiRController` with the same logits and
sampled ids and returns the mismatches (empty: equal). Decisions are compared exactly; the fused
entropy only within float32 rounding of the eager one.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from swireasoning.controller import Directive, SwiRConfig, SwiRController, entropy
from swireasoning.fused import FusedSwiRController

THINK, END, NL, EOS, MATH = 1, 2, 3, 4, 5
FIELDS = ("ids", "feed_mixture", "mix_weight", "anchor_weight", "anchor_id", "latent", "to_explicit",
          "to_latent", "switch_count", "finished", "budget_hit")  # fmt: skip
STATE = ("step_", "mode", "stay", "locked", "count", "queue", "queue_pos", "queue_len", "budget")


def config(**kw: object) -> SwiRConfig:
    base: dict = dict(think_id=THINK, end_think_id=END, linebreak_id=NL, eos_ids=(EOS,), math_ids=(MATH, 6),
                      convergence_ids=(END,), termination_ids=(END, 7, 8), window=2, max_switch_count=1,
                      answer_budget=6, max_new_tokens=200)  # fmt: skip
    return SwiRConfig(**{**base, **kw})


def compare(tag: str, want: Directive, got: Directive, eager: SwiRController, fused: SwiRController) -> list[str]:
    same = [torch.equal(getattr(want, n), getattr(got, n).to(getattr(want, n).dtype)) for n in FIELDS]
    bad = [f"{tag}: {n}" for n, ok in zip(FIELDS, same, strict=True) if not ok]
    bad += [f"{tag}: state {n}" for n in STATE if not torch.equal(getattr(eager, n), getattr(fused, n))]
    if not torch.allclose(eager.h_ref, fused.h_ref, rtol=1e-5, atol=1e-6):  # each row's own entropy
        bad.append(f"{tag}: state h_ref")
    if got.entropy is not None and want.probs is not None:
        h = entropy(want.probs).float()
        if not torch.allclose(got.entropy, h, rtol=1e-5, atol=1e-6):
            bad.append(f"{tag}: entropy {got.entropy.tolist()} vs {h.tolist()}")
    return bad


def sampled_ids(g: torch.Generator, b: int, vocab: int, device: str) -> Tensor:
    """Mostly ordinary ids, sometimes </think>, a math token or EOS, so every rule fires."""
    ids = torch.randint(9, vocab, (b,), generator=g)
    special = torch.tensor([END, MATH, EOS, 6])[torch.randint(0, 4, (b,), generator=g)]
    return torch.where(torch.rand(b, generator=g) < 0.08, special, ids).to(device)


def random_logits(g: torch.Generator, b: int, vocab: int, device: str) -> Tensor:
    """Rows of widely varying entropy, so rows switch often."""
    scale = torch.rand(b, 1, generator=g) * 8
    return (torch.randn(b, vocab, generator=g) * scale).to(device)


def scenario_batch(vocab: int, device: str, steps: int = 40, seed: int = 0, rows: int = 5) -> list[str]:
    """All rows started together (the local engine's use), every rule reachable."""
    g = torch.Generator().manual_seed(seed)
    cfg = config()
    eager, fused = SwiRController(cfg, rows, device), FusedSwiRController(cfg, rows, device)
    bad: list[str] = []
    for t in range(steps):
        logits, ids = random_logits(g, rows, vocab, device), sampled_ids(g, rows, vocab, device)
        bad += compare(f"batch t={t}", eager.step(logits, ids), fused.step(logits, ids), eager, fused)
    return bad


def scenario_slots(vocab: int, device: str, steps: int = 40, seed: int = 1) -> list[str]:
    """The plugin's use: slots with their own parameters, rows in changing order and subsets."""
    g = torch.Generator().manual_seed(seed)
    cfg = config(max_switch_count=None)
    eager, fused = SwiRController(cfg, 8, device), FusedSwiRController(cfg, 8, device)
    for ctrl in (eager, fused):
        ctrl.reset(torch.tensor([2, 5], device=device), alpha0=0.6, beta0=0.3, window=1, max_switch_count=2)
        ctrl.reset(torch.tensor([7], device=device), max_new_tokens=30, window=4)
    bad: list[str] = []
    for t in range(steps):
        rows = torch.randperm(8, generator=g)[: 1 + t % 6].to(device)
        logits, ids = random_logits(g, rows.numel(), vocab, device), sampled_ids(g, rows.numel(), vocab, device)
        got = fused.step(logits, ids, rows=rows)
        bad += compare(f"slots t={t}", eager.step(logits, ids, rows=rows), got, eager, fused)
    return bad


def scenario_ties(vocab: int, device: str) -> list[str]:
    """Entropies that tie exactly (the very same logits again: neither switches) or nearly (logits
    scaled by 1 +- 1e-4: every switch in both). Closer than float32 rounding (a few ulps), the two
    sums may order differently; both are then the true entropy to within their rounding."""
    g = torch.Generator().manual_seed(2)
    cfg = config(window=0, max_switch_count=None)
    eager, fused = SwiRController(cfg, 3, device), FusedSwiRController(cfg, 3, device)
    base = torch.randn(3, vocab, generator=g) * 2
    factors = [1.0, 1.0, 1.0001, 1.0001, 0.9999, 0.9999, 1.0, 1.0001, 1.0, 1.0]
    bad: list[str] = []
    switches = 0
    ids = torch.full((3,), 11, device=device)
    for t, f in enumerate(factors):
        logits = (base * f).to(device)
        want = eager.step(logits, ids)
        switches += int(want.switched_to.ne(0).sum())
        bad += compare(f"ties t={t}", want, fused.step(logits, ids), eager, fused)
    return bad if switches >= 9 else [*bad, f"ties: only {switches} switches (scenario drifted)"]


def scenario_replay(record: list[tuple], cfg: SwiRConfig, device: str) -> list[str]:
    """A recorded decode (the tiny model's): ("step", logits, sampled) and ("select", keep) events."""
    b = next(e[1].shape[0] for e in record if e[0] == "step")
    eager, fused = SwiRController(cfg, b, device), FusedSwiRController(cfg, b, device)
    bad: list[str] = []
    for t, event in enumerate(record):
        if event[0] == "select":
            eager.select(event[1].to(device))
            fused.select(event[1].to(device))
            continue
        logits, ids = event[1].to(device), event[2].to(device)
        bad += compare(f"replay t={t}", eager.step(logits, ids), fused.step(logits, ids), eager, fused)
    return bad


def scenario_rules(vocab: int, device: str) -> list[str]:
    """Every rule fires by construction (peaked logits, as tests/unit/swireasoning/test_swireasoning_rules.py): switches
    both ways, convergence then termination words forced, the answer budget, a sampled </think> lock,
    a math token fed as a token, EOS."""
    cfg = config(max_switch_count=1, window=1, answer_budget=5)
    eager, fused = SwiRController(cfg, 2, device), FusedSwiRController(cfg, 2, device)
    levels = [1.0, 2.0, 0.0, 3.0, 0.0, 4.0, 4.0, 4.0, 4.0, 4.0, 1.0]
    row1 = [9, 9, 9, END, 9, MATH, 9, 9, EOS, 9, 9]
    bad: list[str] = []
    seen = {"to_explicit": False, "to_latent": False, "budget_hit": False, "forced": False}
    for t, (level, other) in enumerate(zip(levels, row1, strict=True)):
        logits = torch.zeros(2, vocab)
        logits[:, 10] = level
        ids = torch.tensor([9, other])
        want = eager.step(logits.to(device), ids.to(device))
        bad += compare(f"rules t={t}", want, fused.step(logits.to(device), ids.to(device)), eager, fused)
        for name in ("to_explicit", "to_latent", "budget_hit"):
            seen[name] |= bool(getattr(want, name).any())
        seen["forced"] |= int(want.ids[0]) != 9
    return bad + [f"rules: {name} never happened" for name, hit in seen.items() if not hit]


SCENARIOS: dict[str, Callable[[int, str], list[str]]] = {
    "rules": scenario_rules,
    "batch": scenario_batch,
    "slots": scenario_slots,
    "ties": scenario_ties,
}
