"""Our controller + decode loop against a literal transcription of the official loop (tests/support/swir_reference.py),
in lockstep: both loops get the same logits at every step, and must make the same decisions (ids, switches,
finish) and feed the same embedding after every step. Then each path of the algorithm, reached by
construction with scripted logits (tests/support/scripted_lm.py), asserted exactly. Nothing here rests on the float
trajectory of a random model, so it holds with any CPU kernels."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest
import torch

from swireasoning.controller import SwiRConfig, SwiRController
from swireasoning.decode import PromptBatch, SamplingParams, generate
from tests.support.scripted_lm import Lockstep, ScriptedLM, peak
from tests.support.swir_reference import reference_generate_swir
from worker.backends.local import LocalEngine
from worker.queue.protocol import ChatMessage

V, THINK, END, NL, EOS, MATH, NEWLINE, TOK = 16, 1, 2, 3, 4, 5, 12, 9
TERM = (END, 6, 7)
SAMPLING = SamplingParams(temperature=0.6, top_p=0.95, top_k=8, min_p=0.0)
GREEDY = SamplingParams(temperature=0.0)


def cfg(**kw) -> SwiRConfig:
    base = dict(think_id=THINK, end_think_id=END, linebreak_id=NL, newline_id=NEWLINE, eos_ids=(EOS,),
                math_ids=(MATH,), convergence_ids=(END,), termination_ids=TERM, max_new_tokens=20)  # fmt: skip
    return SwiRConfig(**{**base, **kw})


def prompt(bsz: int, width: int = 4) -> PromptBatch:
    ids = torch.full((bsz, width), 10)
    positions = torch.arange(width).expand(bsz, width)
    return PromptBatch(ids, torch.ones_like(ids), positions, torch.full((bsz,), width))


@dataclass
class Run:
    ids: list[list[int]]
    switches: list[list[tuple[int, str]]]
    finish: list[int | None]
    latent: list[list[bool]] = field(default_factory=list)
    budget_hit: list[bool] = field(default_factory=list)
    rows: list[list[int]] = field(default_factory=list)  # rows still running at each step

    @property
    def decisions(self) -> tuple:
        return self.ids, self.switches, self.finish


def ours(model, batch: PromptBatch, c: SwiRConfig, sampling: SamplingParams, seed: int = 0) -> Run:
    n = batch.input_ids.shape[0]
    run = Run([[] for _ in range(n)], [[] for _ in range(n)], [None] * n, [[] for _ in range(n)], [False] * n)
    steps = generate(model, batch, max_new_tokens=c.max_new_tokens, sampling=sampling, eos_ids=c.eos_ids,
                     controller=SwiRController(c, n), generator=torch.Generator().manual_seed(seed))  # fmt: skip
    for t, step in enumerate(steps):
        run.rows.append(step.rows.tolist())
        for i, row in enumerate(step.rows.tolist()):
            run.ids[row].append(int(step.ids[i]))
            run.latent[row].append(bool(step.latent[i]))
            if int(step.switched_to[i]):
                run.switches[row].append((t, "explicit" if int(step.switched_to[i]) == 1 else "latent"))
            if bool(step.finished[i]):
                run.finish[row], run.budget_hit[row] = t, bool(step.budget_hit[i])
    return run


def reference(model, batch: PromptBatch, c: SwiRConfig, sampling: SamplingParams, seed: int = 0) -> Run:
    return Run(*reference_generate_swir(model, batch, c, sampling, seed))


def assert_same_feeds(mine: dict, official: dict) -> None:
    """Every input the official loop fed, ours fed too (ours may make one more call, after its last step)."""
    last = max(step for _, step in mine)
    assert set(official) <= set(mine) and all(step == last for _, step in set(mine) - set(official))
    for key, want in official.items():
        assert torch.allclose(mine[key], want, rtol=1e-5, atol=1e-6), f"fed embedding of (row, step) {key}"


def both(script, batch: PromptBatch, c: SwiRConfig, sampling: SamplingParams = GREEDY, seed: int = 0):
    """Ours and the official loop on the same scripted logits; asserts they agree; returns ours and its feeds."""
    mine, official = ScriptedLM(V, script, eos_id=EOS), ScriptedLM(V, script, eos_id=EOS)
    got, want = ours(mine, batch, c, sampling, seed), reference(official, batch, c, sampling, seed)
    assert got.decisions == want.decisions
    assert_same_feeds(mine.fed, official.fed)
    return got, mine


def scripted(*rows: list[tuple[int, float]]):
    """Per row, (token, level) for each step; the last entry repeats."""
    return lambda row, t: peak(*rows[row][min(t, len(rows[row]) - 1)], V)


# ---- lockstep equivalence, with sampling, on noisy scripted logits ----------------------------------------


def noisy(seed: int, bsz: int, steps: int):
    """Random logits (fixed per seed) with a varying peak, so entropies rise and fall and tokens are sampled."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(bsz, steps + 1, V, generator=g)
    levels = torch.rand(bsz, steps + 1, generator=g) * 4
    tokens = torch.randint(0, V, (bsz, steps + 1), generator=g)
    return lambda row, t: noise[row, t] * 0.7 + peak(int(tokens[row, t]), float(levels[row, t]), V)


@pytest.mark.parametrize(("seed", "bsz", "max_switch", "window"),
                         [(0, 1, None, 512), (1, 2, 1, 2), (2, 3, 2, 3), (3, 3, 1, 1), (4, 3, None, 1),
                          (5, 2, 0, 1)])  # fmt: skip
def test_same_decisions_and_feeds_as_the_official_loop_on_sampled_steps(seed, bsz, max_switch, window):
    c = cfg(max_switch_count=max_switch, window=window, max_new_tokens=40, answer_budget=6)
    both(noisy(seed, bsz, 40), prompt(bsz), c, SAMPLING, seed)


@pytest.fixture(scope="module")
def engine(tiny_model) -> LocalEngine:
    return LocalEngine.load(str(tiny_model))


@pytest.mark.parametrize(("seed", "max_switch", "window"), [(1, 1, 4), (2, None, 8)])
def test_same_decisions_and_feeds_as_the_official_loop_on_the_tiny_model(engine, seed, max_switch, window):
    """The real hybrid model (its cache, M-RoPE positions, row drops) under both loops. The official loop runs
    free; ours is given the logits it was given at each step, so the two never drift apart, and the model's
    own logits on our feeds are checked to match (a wrong cache row or position would not)."""
    c = replace(engine.swir_base, max_switch_count=max_switch, window=window, max_new_tokens=32)
    texts = [engine.render([ChatMessage(role="user", content=p)], True) for p in ("Solve 3 + 4.", "Describe Rio.")]
    batch = engine.encode(texts, [[], []])
    official = Lockstep(engine.model)
    want = reference(official, batch, c, SamplingParams(0.6, 0.95, 20), seed)
    mine = Lockstep(engine.model, recording=official)
    got = ours(mine, batch, c, SamplingParams(0.6, 0.95, 20), seed)
    assert got.decisions == want.decisions
    assert_same_feeds(mine.fed, official.fed)
    for key, logits in official.computed.items():
        # fed inputs 1e-6 apart move these by ~2e-3; one position off moves them by ~2
        assert torch.allclose(mine.computed[key], logits, rtol=0, atol=0.05), f"model logits at {key}"


# ---- each path by construction --------------------------------------------------------------------------

# C = 1, a 1-step dwell, an answer budget of 5. Entropy falls as the level rises.
SWITCH_CONTROL = [(TOK, 1.0), (TOK, 2.0), (TOK, 0.5), (TOK, 3.0), (TOK, 0.4), (TOK, 4.0)]
# latent; a math token and an ordinary one at higher entropy (no switch); a sampled EOS at lower entropy
MATH_THEN_EOS = [(MATH, 1.0), (TOK, 0.5), (MATH, 0.8), (EOS, 5.0)]
# to explicit (convergence forces END next); back to latent on the forced END's step (it did not lock); a
# sampled END that switches to explicit and locks; then entropy stays high and the row never goes latent again
LOCK = [(TOK, 1.0), (TOK, 2.0), (TOK, 0.1), (TOK, 0.1), (END, 3.0), (TOK, 0.1)]


def test_convergence_termination_math_eos_and_the_lock_in_one_batch():
    c = cfg(max_switch_count=1, window=1, answer_budget=5, max_new_tokens=14)
    run, model = both(scripted(SWITCH_CONTROL, MATH_THEN_EOS, LOCK), prompt(3), c)

    # row 0: switches 1 and 2 (C <= count <= 2C) force "</think>" next step; switch 3 (> 2C) forces the
    # termination words and arms the budget of 5, decremented on the arming step: the row ends 4 steps later
    assert run.switches[0] == [(1, "explicit"), (2, "latent"), (3, "explicit"), (4, "latent"), (5, "explicit")]
    assert run.ids[0] == [TOK, TOK, END, TOK, END, TOK, *TERM, TOK]
    assert (run.finish[0], run.budget_hit[0]) == (9, True)
    assert run.latent[0] == [True, False, True, False, True] + [False] * 5

    # row 1: math tokens go in as tokens even while latent; the sampled EOS ends the row at step 3
    assert run.latent[1] == [False, True, False, False] and run.ids[1] == [MATH, TOK, MATH, EOS]
    assert (run.switches[1], run.finish[1], run.budget_hit[1]) == ([(3, "explicit")], 3, False)
    assert torch.equal(model.fed[(1, 0)], model.embed.weight[MATH])
    assert torch.equal(model.fed[(1, 2)], model.embed.weight[MATH])

    # row 2: a forced "</think>" does not lock (latent again at step 2); a sampled one does (explicit to the end)
    assert run.ids[2][:6] == [TOK, TOK, END, TOK, END, END] and run.ids[2][6:] == [TOK] * 8
    assert run.switches[2] == [(1, "explicit"), (2, "latent"), (4, "explicit")]
    assert run.latent[2] == [True, False, True, True] + [False] * 10 and run.finish[2] is None

    # finished rows leave the batch on the step after they end
    assert run.rows == [[0, 1, 2]] * 4 + [[0, 2]] * 6 + [[2]] * 4


def mixture_of(level_token: tuple[int, float], embedding: torch.Tensor) -> torch.Tensor:
    return torch.softmax(peak(*level_token, V), -1) @ embedding


def test_first_step_sets_the_reference_and_the_dwell_window_holds_explicit():
    c = cfg(window=3, max_new_tokens=10)
    steps = [(TOK, 3.0), (TOK, 2.0), (TOK, 2.5), (TOK, 3.5), (TOK, 1.0)]
    run, model = both(scripted(steps), prompt(1), c)
    # entropies above step 0's do not switch; the first below it does (step 3); then three steps of
    # higher entropy pass before explicit -> latent is allowed (step 6), and equal entropy never switches
    assert run.switches[0] == [(3, "explicit"), (6, "latent")]
    assert run.latent[0] == [True] * 3 + [False] * 3 + [True] * 4
    emb = model.embed.weight
    # step 0 feeds 0.9 mixture + 0.1 E[line break]; a switch to explicit feeds beta mixture + (1 - beta) E[</think>]
    assert torch.allclose(model.fed[(0, 0)], 0.9 * mixture_of(steps[0], emb) + 0.1 * emb[NL])
    beta = 0.7 + 0.3 * 3 / 10
    assert torch.allclose(model.fed[(0, 3)], beta * mixture_of(steps[3], emb) + (1 - beta) * emb[END], atol=1e-6)
    assert torch.equal(model.fed[(0, 4)], emb[TOK]) and torch.allclose(model.fed[(0, 6)], mixture_of(steps[4], emb))


@pytest.mark.parametrize(("alpha0", "beta0"), [(0.3, 0.7), (0.5, 0.2)])
def test_the_alpha_and_beta_ramps_feed_as_the_official_loop(alpha0, beta0):
    """alpha0 < 1: a switch to latent feeds alpha * mixture + (1 - alpha) * E[<think>], alpha ramping to 1."""
    c = cfg(window=3, max_new_tokens=10, alpha0=alpha0, beta0=beta0)
    steps = [(TOK, 3.0), (TOK, 2.0), (TOK, 2.5), (TOK, 3.5), (TOK, 1.0)]
    run, model = both(scripted(steps), prompt(1), c)
    assert run.switches[0] == [(3, "explicit"), (6, "latent")]
    emb, alpha, beta = model.embed.weight, alpha0 + (1 - alpha0) * 6 / 10, beta0 + (1 - beta0) * 3 / 10
    assert torch.allclose(model.fed[(0, 6)], alpha * mixture_of(steps[4], emb) + (1 - alpha) * emb[THINK], atol=1e-6)
    assert torch.allclose(model.fed[(0, 3)], beta * mixture_of(steps[3], emb) + (1 - beta) * emb[END], atol=1e-6)
    noisy_c = cfg(max_switch_count=2, window=2, max_new_tokens=40, alpha0=alpha0, beta0=beta0)
    both(noisy(11, 3, 40), prompt(3), noisy_c, SAMPLING, 11)  # lockstep, many switches each way


def test_newline_anchor_fix_changes_only_the_step0_feed():
    base = cfg(window=2, max_switch_count=1, max_new_tokens=12)
    fixed = replace(base, fix_newline_anchor=True)
    assert base.anchor_linebreak == NL and fixed.anchor_linebreak == NEWLINE
    script = scripted(SWITCH_CONTROL, LOCK)
    official, official_model = both(script, prompt(2), base)
    patched, patched_model = both(script, prompt(2), fixed)
    assert patched.decisions == official.decisions
    emb = patched_model.embed.weight
    for key, fed in patched_model.fed.items():
        if key[1] == 0:
            assert torch.allclose(fed, official_model.fed[key] + 0.1 * (emb[NEWLINE] - emb[NL]), atol=1e-6)
        else:
            assert torch.equal(fed, official_model.fed[key])


def test_fp32_entropy_fix_is_a_no_op_on_float32_logits():
    c = cfg(max_switch_count=2, window=2, max_new_tokens=30)
    script = noisy(7, 2, 30)
    plain, plain_model = both(script, prompt(2), c, SAMPLING, 7)
    fp32, fp32_model = both(script, prompt(2), replace(c, fp32_entropy=True), SAMPLING, 7)
    assert fp32 == plain
    assert all(torch.equal(fp32_model.fed[k], v) for k, v in plain_model.fed.items())
