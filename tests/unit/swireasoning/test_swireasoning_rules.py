"""Each SwiReasoning rule on hand-made logits (V = 16), and the mixtures."""

from __future__ import annotations

import torch

from swireasoning.controller import (
    EXPLICIT,
    LATENT,
    ROW_FIELDS,
    Directive,
    SwiRConfig,
    SwiRController,
    SwiRParams,
    entropy,
)
from swireasoning.mixture import mixture, mixture_shard, next_embeddings

V, THINK, END, NL, EOS, MATH = 16, 1, 2, 3, 4, 5
CONV, TERM = (END,), (END, 6, 7)


def cfg(**kw) -> SwiRConfig:
    base = dict(think_id=THINK, end_think_id=END, linebreak_id=NL, eos_ids=(EOS,), math_ids=(MATH,),
                convergence_ids=CONV, termination_ids=TERM, window=3, max_new_tokens=100)  # fmt: skip
    return SwiRConfig(**{**base, **kw})


def peaked(level: float, rows: int = 1) -> torch.Tensor:
    """Logits whose entropy falls as `level` rises."""
    x = torch.zeros(rows, V)
    x[:, 10] = level
    return x


def run(ctrl: SwiRController, levels: list[float], token: int = 9):
    return [ctrl.step(peaked(lv), torch.tensor([token])) for lv in levels]


def test_starts_latent_and_switches_to_explicit_on_any_entropy_drop():
    ctrl = SwiRController(cfg(), 1)
    d = run(ctrl, [1.0, 1.5])
    assert bool(d[0].latent[0]) and not bool(d[0].to_explicit[0])
    assert bool(d[1].to_explicit[0]) and int(ctrl.mode[0]) == EXPLICIT and int(d[1].switch_count[0]) == 1


def test_explicit_to_latent_waits_for_the_dwell_window():
    ctrl = SwiRController(cfg(window=3), 1)
    d = run(ctrl, [1.0, 2.0, 0.5, 0.5, 0.5])  # explicit at t=1 (ref = H(2.0)); higher entropy after
    assert [bool(x.to_latent[0]) for x in d] == [False, False, False, False, True]  # stay reaches 3 at t=4
    assert int(ctrl.mode[0]) == LATENT


def test_reference_entropy_resets_to_the_value_at_each_switch():
    ctrl = SwiRController(cfg(), 1)
    run(ctrl, [1.0, 2.0])
    assert torch.allclose(ctrl.h_ref, entropy(torch.softmax(peaked(2.0), -1)))
    run(ctrl, [0.5, 0.5, 0.5])
    assert torch.allclose(ctrl.h_ref, entropy(torch.softmax(peaked(0.5), -1)))


def test_sampled_end_think_locks_explicit_but_a_forced_one_does_not():
    ctrl = SwiRController(cfg(max_switch_count=1), 1)
    run(ctrl, [1.0, 2.0])  # switch 1 (= C): "</think>" is queued and forced next step
    forced = ctrl.step(peaked(2.0), torch.tensor([9]))
    assert int(forced.ids[0]) == END and not bool(ctrl.locked[0])
    sampled = ctrl.step(peaked(2.0), torch.tensor([END]))
    assert bool(ctrl.locked[0]) and not bool(sampled.latent[0])


def test_locked_rows_never_go_back_to_latent():
    ctrl = SwiRController(cfg(window=1), 1)
    run(ctrl, [1.0, 2.0])
    ctrl.step(peaked(2.0), torch.tensor([END]))
    d = run(ctrl, [0.0, 0.0, 0.0])
    assert not any(bool(x.to_latent[0]) for x in d)


def test_convergence_between_c_and_2c_then_termination_with_the_answer_budget():
    ctrl = SwiRController(cfg(max_switch_count=1, window=1, answer_budget=5), 1)
    emitted = []
    levels = [1.0, 2.0, 0.0, 3.0, 0.0, 4.0]  # explicit switches at t=1 (count 1), t=3 (2), t=5 (3)
    for lv in levels:
        emitted.append(int(ctrl.step(peaked(lv), torch.tensor([9])).ids[0]))
    assert emitted[2] == END and emitted[4] == END  # convergence at count 1 and 2 (C..2C)
    tail = [ctrl.step(peaked(4.0), torch.tensor([9])) for _ in range(4)]
    assert [int(d.ids[0]) for d in tail[:3]] == list(TERM)  # termination words at count 3 > 2C
    assert [bool(d.finished[0]) for d in tail] == [False, False, False, True]  # budget 5, armed at t=5
    assert bool(tail[-1].budget_hit[0])


def test_math_tokens_are_fed_as_tokens_even_in_latent_mode():
    ctrl = SwiRController(cfg(), 2)
    d = ctrl.step(peaked(1.0, rows=2), torch.tensor([MATH, 9]))
    assert d.latent.tolist() == [False, True]
    emb = torch.randn(V, 8)
    fed = next_embeddings(d, emb)
    assert torch.equal(fed[0], emb[MATH])
    assert torch.allclose(fed[1], 0.9 * (torch.softmax(peaked(1.0), -1) @ emb)[0] + 0.1 * emb[NL])


def test_newline_fix_swaps_only_the_step0_anchor():
    assert cfg().anchor_linebreak == NL
    assert cfg(newline_id=12, fix_newline_anchor=True).anchor_linebreak == 12


def test_fp32_entropy_is_closer_to_float64_than_bf16():
    logits = torch.randn(4, 4096, generator=torch.Generator().manual_seed(0)) * 4
    exact = entropy(torch.softmax(logits.double(), -1))
    bf16 = SwiRController(cfg(), 4).step(logits.bfloat16(), torch.zeros(4, dtype=torch.long))
    fp32 = SwiRController(cfg(fp32_entropy=True), 4).step(logits.bfloat16(), torch.zeros(4, dtype=torch.long))
    assert bf16.probs.dtype == torch.bfloat16 and fp32.probs.dtype == torch.float32
    err32 = (entropy(fp32.probs).double() - exact).abs().max()
    err16 = (entropy(bf16.probs).double() - exact).abs().max()
    assert err32 < err16


def test_top_k_mixture_tends_to_the_exact_mixture():
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(3, V, generator=g) * 2, -1)
    emb = torch.randn(V, 8, generator=g)
    exact = mixture(probs, emb)
    for k in (1, 4, 8, V):
        # renormalising the kept mass m moves the mixture by at most 2 (1 - m) max|E|, for any probabilities
        kept = torch.topk(probs, k, dim=-1).values.sum(-1)
        bound = 2 * (1 - kept) * emb.abs().max() + 1e-6
        assert ((mixture(probs, emb, top_k=k) - exact).abs().amax(-1) <= bound).all(), k
    assert torch.allclose(mixture(probs, emb, top_k=V), exact, atol=1e-6)
    assert (mixture(probs, emb, top_k=1) - emb[probs.argmax(-1)]).abs().max() < 1e-6


def test_sharded_mixture_summed_over_ranks_equals_the_full_one():
    g = torch.Generator().manual_seed(1)
    probs = torch.softmax(torch.randn(5, V, generator=g), -1)
    emb = torch.randn(V, 8, generator=g)
    shards = emb.chunk(4)  # four tensor-parallel ranks, 4 rows of the vocabulary each
    for k in (None, 3, V):
        starts = [0, 4, 8, 12]
        total = sum(mixture_shard(probs, s, start, top_k=k) for s, start in zip(shards, starts, strict=True))
        assert torch.allclose(total, mixture(probs, emb, top_k=k), atol=1e-6)


def test_slots_step_independently_with_their_own_start_and_parameters():
    """The engine-table use (SGLang plugin): rows start at different steps with their own parameters."""
    table = SwiRController(cfg(), 4)
    table.reset(torch.tensor([2]), max_switch_count=1, window=1, answer_budget=5)
    alone = SwiRController(cfg(max_switch_count=1, window=1, answer_budget=5), 1)
    levels = [1.0, 2.0, 0.0, 3.0, 0.0, 4.0, 4.0, 4.0]
    for i, lv in enumerate(levels):
        rows = torch.tensor([0, 2]) if i % 2 == 0 else torch.tensor([2])  # slot 0 steps half as often
        got = table.step(peaked(lv, rows=len(rows)), torch.full((len(rows),), 9), rows=rows)
        want = alone.step(peaked(lv), torch.tensor([9]))
        assert int(got.ids[-1]) == int(want.ids[0]) and bool(got.latent[-1]) == bool(want.latent[0])
        assert bool(got.to_explicit[-1]) == bool(want.to_explicit[0])
    assert int(table.step_[2]) == len(levels) and int(table.step_[0]) == 4 and int(table.step_[1]) == 0


def test_a_requests_parameters_override_only_what_they_set():
    params = SwiRParams.of({"alpha0": 0.5, "window": 8, "mixture_top_k": 16, "mode": "swireasoning", "beta0": None})
    assert params == SwiRParams(alpha0=0.5, window=8, mixture_top_k=16) and SwiRParams.of({}) == SwiRParams()
    assert params.overrides() == {"alpha0": 0.5, "window": 8}, "the top-k is the mixture's, not the controller's"
    assert SwiRParams().overrides() == {}
    made = params.config(cfg(), max_new_tokens=77)
    assert (made.alpha0, made.window, made.max_new_tokens, made.beta0, made.max_switch_count) == (0.5, 8, 77, 0.7, None)
    ctrl = SwiRController(cfg(), 2)
    ctrl.reset(torch.tensor([1]), **SwiRParams(max_switch_count=3, beta0=0.2).overrides())
    assert ctrl.max_switch.tolist() == [-1, 3] and ctrl.beta0.tolist() == [0.7, 0.2] and ctrl.switch_control


def test_a_fused_directive_gives_any_slice_of_the_softmax_from_its_max_and_normaliser():
    logits = torch.randn(3, V, generator=torch.Generator().manual_seed(4)) * 3
    top = logits.max(-1).values
    d = SwiRController(cfg(), 3).step(logits, torch.tensor([9, 9, 9]))
    fused = Directive(**{**d.__dict__, "probs": None, "logits": logits, "row_max": top,
                         "row_sum": torch.exp(logits - top[:, None]).sum(-1)})  # fmt: skip
    assert torch.allclose(fused.probs_slice(3, 11), torch.softmax(logits, -1)[:, 3:11], rtol=1e-6, atol=0)
    assert torch.allclose(fused.probs_slice(), d.probs_slice(), rtol=1e-6, atol=0)


STATE_DTYPES = {"step": torch.long, "mode": torch.int8, "h_ref": torch.float32, "stay": torch.long,
                "locked": torch.bool, "count": torch.long, "queue": torch.long, "queue_pos": torch.long,
                "queue_len": torch.long, "budget": torch.long, "alpha0": torch.float64, "beta0": torch.float64,
                "window": torch.long, "max_switch": torch.long, "max_new": torch.long}  # fmt: skip


def test_state_lives_on_the_controllers_device_in_the_dtypes_the_fused_kernel_reads():
    ctrl = SwiRController(cfg(max_switch_count=1, convergence_ids=(), termination_ids=()), 3, device="meta")
    ctrl.reset(torch.tensor([1], device="meta"), window=2)
    tables = [ctrl.math_ids, ctrl.eos_ids, ctrl._conv, ctrl._term, ctrl._armings, ctrl._arming_len, ctrl._anchors]
    assert all(t.device.type == "meta" for t in [*(ctrl._field(n) for n in ROW_FIELDS), *tables])
    assert {n: ctrl._field(n).dtype for n in ROW_FIELDS} == STATE_DTYPES
    assert all(t.dtype == torch.long for t in tables)


def test_the_queue_holds_the_longer_token_list_and_empty_lists_arm_nothing():
    long_conv = SwiRController(
        cfg(max_switch_count=1, window=1, convergence_ids=(END, 9, 9, 9), termination_ids=(END,)), 1
    )
    silent = SwiRController(
        cfg(max_switch_count=0, window=1, convergence_ids=(), termination_ids=(), answer_budget=2), 1
    )
    got, quiet = [], []
    for level in [1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]:  # one switch to explicit, then no other
        got.append(int(long_conv.step(peaked(level), torch.tensor([MATH])).ids[0]))
        quiet.append(silent.step(peaked(level), torch.tensor([MATH])))
    assert got[got.index(END) :][:4] == [END, 9, 9, 9], got
    assert all(int(d.ids[0]) == MATH for d in quiet) and any(bool(d.finished[0]) for d in quiet), "budget only"


def test_a_reset_row_without_switch_control_leaves_it_on_for_the_others():
    ctrl = SwiRController(cfg(), 2)
    ctrl.reset(torch.tensor([0]), max_switch_count=1)
    ctrl.reset(torch.tensor([1]))
    assert ctrl.switch_control and ctrl.max_switch.tolist() == [1, -1]


def test_bfloat16_logits_keep_float32_state_and_their_entropy():
    logits = (torch.randn(2, V, generator=torch.Generator().manual_seed(5)) * 3).bfloat16()
    ctrl = SwiRController(cfg(), 2)
    ctrl.step(logits, torch.tensor([9, 9]))
    assert ctrl.h_ref.dtype == torch.float32
    assert torch.equal(ctrl.h_ref, entropy(torch.softmax(logits, -1)).float())


def test_a_termination_without_tokens_leaves_a_running_convergence_queue_going():
    """The eager step as the fused kernel: an empty list arms nothing, only the answer budget starts."""
    ctrl = SwiRController(cfg(max_switch_count=1, window=1, convergence_ids=(END, 9, 9, 9, 9, 9, 9),
                              termination_ids=(), answer_budget=20), 1)  # fmt: skip
    # explicit at t=1 (count 1: converge), latent at 2, explicit at 3 (count 2: converge again), latent at 4,
    # explicit at 5 (count 3 > 2C: terminate, no tokens)
    levels = [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 2.0, 2.0]
    ids = [int(ctrl.step(peaked(level), torch.tensor([MATH])).ids[0]) for level in levels]
    assert int(ctrl.count[0]) == 3 and int(ctrl.budget[0]) > 0
    assert ids[4:] == [END, 9, 9, 9], ids  # the queue armed at t=3 goes on through t=5's termination


def test_without_convergence_tokens_a_termination_is_armed_once_on_its_switch():
    ctrl = SwiRController(cfg(max_switch_count=0, window=3, convergence_ids=(), termination_ids=(END, 6, 7)), 1)
    ids = [int(ctrl.step(peaked(level), torch.tensor([MATH])).ids[0]) for level in [1.0, 2.0, 2.0, 2.0, 2.0, 2.0]]
    assert ids == [MATH, MATH, END, 6, 7, MATH], ids  # armed at t=1 (count 1 > 2C = 0), then sampled again
