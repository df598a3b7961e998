"""Our controller + decode loop against a literal transcription of the official loop, on the tiny model."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from swireasoning.controller import SwiRController
from swireasoning.decode import SamplingParams, generate
from tests.swir_reference import reference_generate_swir
from worker.backends.local import LocalEngine
from worker.protocol import ChatMessage

PROMPTS = [
    "Solve 3 + 4 step by step.",
    "Describe Rio de Janeiro.",
    "What is sqrt(2)? Think first, then answer briefly and clearly please.",
]
SAMPLING = SamplingParams(temperature=0.6, top_p=0.95, top_k=20, min_p=0.0)


@pytest.fixture(scope="module")
def engine(tiny_model) -> LocalEngine:
    return LocalEngine.load(str(tiny_model))


def ours(engine: LocalEngine, batch, cfg, seed: int):
    outputs: list[list[int]] = [[] for _ in range(batch.input_ids.shape[0])]
    switches: list[list[tuple[int, str]]] = [[] for _ in outputs]
    finish: list[int | None] = [None] * len(outputs)
    steps = generate(
        engine.model,
        batch,
        max_new_tokens=cfg.max_new_tokens,
        sampling=SAMPLING,
        eos_ids=cfg.eos_ids,
        controller=SwiRController(cfg, batch.input_ids.shape[0]),
        generator=torch.Generator().manual_seed(seed),
    )
    for t, step in enumerate(steps):
        for i, row in enumerate(step.rows.tolist()):
            outputs[row].append(int(step.ids[i]))
            if int(step.switched_to[i]):
                switches[row].append((t, "explicit" if int(step.switched_to[i]) == 1 else "latent"))
            if bool(step.finished[i]):
                finish[row] = t
    return outputs, switches, finish


def batch_of(engine: LocalEngine, n: int):
    texts = [engine.render([ChatMessage(role="user", content=p)], True) for p in PROMPTS[:n]]
    return engine.encode(texts, [[] for _ in texts])


CASES = [  # (seed, batch size, max_switch_count, window)
    (0, 1, None, 512),
    (1, 1, 1, 8),
    (2, 3, 2, 8),
    (3, 3, 1, 4),
    (4, 2, None, 16),
]


@pytest.mark.parametrize(("seed", "bsz", "max_switch", "window"), CASES)
def test_same_tokens_switches_and_finish_as_the_official_loop(engine, seed, bsz, max_switch, window):
    cfg = replace(engine.swir_base, max_switch_count=max_switch, window=window, max_new_tokens=120)
    batch = batch_of(engine, bsz)
    ref = reference_generate_swir(engine.model, batch, cfg, SAMPLING, seed)
    got = ours(engine, batch, cfg, seed)
    assert got[0] == ref[0], "token ids"
    assert got[1] == ref[1], "switch steps"
    assert got[2] == ref[2], "finish steps"
    if window <= 16:
        assert any(ref[1]), "the case should exercise switching"


def test_switch_control_forces_convergence_then_termination(engine):
    cfg = replace(engine.swir_base, max_switch_count=1, window=2, max_new_tokens=200)
    outputs, switches, finish = ours(engine, batch_of(engine, 3), cfg, seed=5)
    terminated = 0
    for row, ids in enumerate(outputs):
        explicit = [t for t, to in switches[row] if to == "explicit"]
        # switch 1..2 (C <= count <= 2C): "</think>" is forced on the next step
        for t in explicit[:2]:
            if t + 1 < len(ids):
                assert ids[t + 1] == cfg.convergence_ids[0]
        # switch 3+ (count > 2C): the termination words start on the next step and the answer budget,
        # armed at the last such switch, ends the row 31 steps later
        for t in explicit[2:]:
            if t + 1 < len(ids):
                assert ids[t + 1] == cfg.termination_ids[0]
        if len(explicit) >= 3 and finish[row] is not None and ids[finish[row]] not in cfg.eos_ids:
            assert finish[row] == explicit[-1] + cfg.answer_budget - 1
            terminated += 1
    assert terminated, "with C=1 and a 2-step dwell, some row should be cut off by the answer budget"


def test_newline_anchor_fix_changes_only_the_step0_anchor(engine):
    base = replace(engine.swir_base, max_switch_count=2, window=8, max_new_tokens=60)
    fixed = replace(base, fix_newline_anchor=True)
    assert base.anchor_linebreak != fixed.anchor_linebreak == base.newline_id
    batch = batch_of(engine, 2)
    official, patched = ours(engine, batch, base, 9), ours(engine, batch, fixed, 9)
    assert [o[0] for o in official[0]] == [p[0] for p in patched[0]], "step 0 is sampled before the anchor is fed"
    assert patched == reference_generate_swir(engine.model, batch, fixed, SAMPLING, 9)


def test_fp32_entropy_fix_is_a_no_op_on_a_float32_model(engine):
    base = replace(engine.swir_base, max_switch_count=2, window=8, max_new_tokens=60)
    batch = batch_of(engine, 2)
    assert ours(engine, batch, base, 3) == ours(engine, batch, replace(base, fp32_entropy=True), 3)
