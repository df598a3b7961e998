"""Leaderboard numbers on a known set of votes."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from demo.battle import BOOTSTRAP_ROUNDS, Contender, bradley_terry, contenders, draw, leaderboard, table
from worker.jobs import Settings, Vote, available


def votes(a: str, b: str, outcome: str, n: int) -> list[Vote]:
    return [Vote(battle="x" * 24, a=a, b=b, outcome=outcome) for _ in range(n)]  # type: ignore[arg-type]


def test_maximum_likelihood_fit_matches_the_closed_form():
    # A beats B 30 times, B beats A 10 times (sides swapped half the time): strength ratio exactly 3.
    vs = votes("A", "B", "a", 15) + votes("B", "A", "b", 15) + votes("A", "B", "b", 5) + votes("B", "A", "a", 5)
    ra, rb = bradley_terry(vs, ["A", "B"], prior_games=0)
    assert ra - rb == pytest.approx(400 * math.log10(3), abs=1e-6)
    assert (ra + rb) / 2 == pytest.approx(1000, abs=1e-6)


def test_ties_and_both_bad_count_half_a_win():
    vs = votes("A", "B", "a", 10) + votes("A", "B", "tie", 10) + votes("A", "B", "both_bad", 10)
    ra, rb = bradley_terry(vs, ["A", "B"], prior_games=0)
    assert ra - rb == pytest.approx(400 * math.log10(20 / 10))  # A scored 10 + 10, B 0 + 10


def test_leaderboard_orders_reports_win_rates_and_intervals_that_hold_the_estimate():
    vs = votes("A", "B", "a", 30) + votes("A", "B", "b", 10) + votes("B", "C", "a", 20) + votes("B", "C", "b", 20)
    vs += votes("A", "C", "a", 3)  # C never beat A: still a finite rating (the prior)
    rows = leaderboard(vs)
    assert [r.name for r in rows] == ["A", "B", "C"]
    by = {r.name: r for r in rows}
    assert by["A"].battles == 43 and by["A"].win_rate == pytest.approx(33 / 43)
    assert by["B"].win_rate == pytest.approx((10 + 20) / 80)
    for r in rows:
        assert math.isfinite(r.rating) and r.low <= r.rating <= r.high and r.low < r.high
    assert leaderboard(vs) == rows, "same votes, same table (fixed bootstrap seed)"


def test_battles_draw_two_different_contenders_even_with_one_model():
    pool = contenders(available(Settings()))
    assert len(pool) >= 2, "tiny-random fights with SwiReasoning on and off"
    rng = random.Random(1)
    for _ in range(50):
        a, b = draw(pool, rng)
        assert a != b


def test_excluded_votes_are_shown_but_never_rated():
    counted = votes("A", "B", "a", 6) + votes("A", "B", "b", 2)
    named = [v.model_copy(update={"excluded": "names_a_model", "reason": "answer B names Qwen"})
             for v in votes("A", "B", "b", 50)]  # fmt: skip
    only_excluded = [v.model_copy(update={"excluded": "voter_pair_cap"}) for v in votes("A", "C", "b", 3)]
    rows = leaderboard(counted + named + only_excluded)
    assert [r.name for r in rows] == ["A", "B", "C"]
    by = {r.name: r for r in rows}
    assert by["A"].rating == leaderboard(counted)[0].rating, "excluded votes move no rating"
    assert (by["A"].battles, by["A"].excluded, by["B"].excluded, by["C"].excluded) == (8, 53, 50, 3)
    assert table(rows)[2] == ["C", "—", "—", 0, "—", 3], "no counted vote: no rating"


def test_battle_contenders_can_be_chosen_with_their_modes():
    models = available(Settings(paced_model=True))
    names = [(c.model, c.mode) for c in contenders(models, "paced:thinking, paced:off")]
    assert names == [("paced", "thinking"), ("paced", "off")]
    assert [(c.model, c.mode) for c in contenders(models, "tiny-random,unknown")] == [
        ("tiny-random", "swireasoning"),
        ("tiny-random", "thinking"),
    ], "a bare key: its default mode and SwiReasoning off; a model not configured here: none"
    assert all(c.model != "paced" for c in contenders(models)), "paced fights only when chosen"


def test_intervals_have_the_width_the_votes_allow_and_narrow_with_more_votes():
    """Two contenders, A wins 3 in 4: each rating is half the log-odds difference, whose standard error
    is sqrt(1 / (n p (1 - p))) (delta method), so the 95% half-width is 1.96 · SE / 2 on the Elo scale;
    four times the votes halve it."""
    widths = []
    for k in (1, 4):
        rows = leaderboard(votes("A", "B", "a", 30 * k) + votes("A", "B", "b", 10 * k))
        expected = 1.96 * 400 / math.log(10) * math.sqrt(1 / (40 * k * 0.75 * 0.25)) / 2
        for r in rows:
            assert 0.8 < (r.high - r.low) / 2 / expected < 1.25, (r, expected)
            assert r.high - r.rating == pytest.approx(r.rating - r.low, rel=0.3), "about symmetric"
        widths.append(rows[0].high - rows[0].low)
        assert table(rows)[0][2] == f"{rows[0].low:.0f} – {rows[0].high:.0f}"
    assert 0.4 < widths[1] / widths[0] < 0.6


def test_contenders_are_each_model_in_its_default_mode_swireasoning_also_off_and_never_paced():
    pool = contenders(available(Settings(paced_model=True)))
    label = "tiny-random (random weights, meaningless output)"
    assert pool == [Contender(f"{label} · SwiReasoning", "tiny-random", "swireasoning"),
                    Contender(f"{label} · thinking", "tiny-random", "thinking")]  # fmt: skip


def test_the_board_is_ordered_by_rating_and_unrated_contenders_come_last():
    vs = votes("Zeta", "Alpha", "a", 9) + votes("Zeta", "Alpha", "b", 3)
    only_excluded = [v.model_copy(update={"excluded": "voter_pair_cap"}) for v in votes("Aaron", "Zeta", "a", 2)]
    rows = leaderboard(vs + only_excluded)
    assert [r.name for r in rows] == ["Zeta", "Alpha", "Aaron"], "by rating, not by name; no rating: last"
    assert table(rows)[0][4] == "75.0%" and table(rows)[1][4] == "25.0%"


def test_the_default_prior_is_one_virtual_game_against_the_anchor():
    vs = votes("A", "B", "a", 1)
    assert list(bradley_terry(vs, ["A", "B"])) == list(bradley_terry(vs, ["A", "B"], prior_games=1.0))
    assert not math.isclose(bradley_terry(vs, ["A", "B"])[0], bradley_terry(vs, ["A", "B"], prior_games=2.0)[0])


def test_the_interval_is_the_central_95_percent_of_the_seeded_bootstrap():
    vs = votes("A", "B", "a", 13) + votes("A", "B", "b", 7) + votes("B", "C", "a", 9) + votes("B", "C", "b", 11)
    vs += votes("A", "C", "a", 6) + votes("A", "C", "tie", 4)
    rng = random.Random(0)
    samples = np.array([bradley_terry(rng.choices(vs, k=len(vs)), ["A", "B", "C"]) for _ in range(BOOTSTRAP_ROUNDS)])
    low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    rows = {r.name: r for r in leaderboard(vs)}
    assert [(rows[n].low, rows[n].high) for n in "ABC"] == list(zip(low, high, strict=True))


def test_an_unknown_contender_is_skipped_not_the_end_and_a_thinking_model_fights_once():
    models = available(Settings(paced_model=True))
    chosen = [(c.model, c.mode) for c in contenders(models, "unknown, tiny-random:thinking, paced")]
    paced = next(e for e in models if e.key == "paced")
    assert chosen == [("tiny-random", "thinking"), ("paced", paced.default_reasoning)]


def test_the_fit_solves_the_likelihood_equations_even_for_a_contender_far_below_another():
    """Maximum likelihood: each contender's wins equal its expected wins, sum_j n_ij p_i / (p_i + p_j)."""
    # C plays A only, one win each: as strong as A, and with so few games its MM denominator is below 1
    vs = votes("A", "B", "a", 30) + votes("A", "B", "b", 2) + votes("A", "C", "a", 1) + votes("A", "C", "b", 1)
    names = ["A", "B", "C"]
    p = 10 ** ((bradley_terry(vs, names, prior_games=0) - 1000) / 400)
    games, wins = np.zeros((3, 3)), np.zeros(3)
    for v in vs:
        i, j = names.index(v.a), names.index(v.b)
        games[i, j] += 1
        games[j, i] += 1
        wins[i if v.outcome == "a" else j] += 1
    expected = (games * p[:, None] / (p[:, None] + p[None, :])).sum(axis=1)
    assert np.allclose(expected, wins, atol=1e-6), (expected, wins)


def test_even_results_sit_on_the_anchor():
    vs = votes("A", "B", "a", 5) + votes("A", "B", "b", 5)
    assert np.allclose(bradley_terry(vs, ["A", "B"]), [1000.0, 1000.0], atol=1e-6)
