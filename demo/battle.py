"""Blind battles: who may fight, the draw, and the leaderboard (Bradley-Terry on the Elo scale)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from demo.render import side_label
from worker.jobs import ModelEntry, Vote

BOOTSTRAP_ROUNDS = 200
SCORE = {"a": (1.0, 0.0), "b": (0.0, 1.0), "tie": (0.5, 0.5), "both_bad": (0.5, 0.5)}


@dataclass(frozen=True)
class Contender:
    name: str
    model: str
    mode: str


def contenders(models: list[ModelEntry]) -> list[Contender]:
    """Every configured model in its default mode; a SwiReasoning model also with it off (thinking)."""
    out = []
    for e in models:
        if e.backend == "paced":
            continue
        modes = [e.default_reasoning] + (["thinking"] if e.default_reasoning == "swireasoning" else [])
        out += [Contender(side_label(e.label, m), e.key, m) for m in modes]
    return out


def draw(pool: list[Contender], rng: random.Random | None = None) -> tuple[Contender, Contender]:
    """Two different contenders in random left/right order."""
    a, b = (rng or random.SystemRandom()).sample(pool, 2)
    return a, b


@dataclass(frozen=True)
class Standing:
    name: str
    rating: float
    low: float  # 95% bootstrap interval
    high: float
    battles: int
    win_rate: float  # ties and "both bad" count half


def bradley_terry(votes: list[Vote], names: list[str], prior_games: float = 1.0) -> np.ndarray:
    """Ratings (1000 + 400·log10 strength) by minorization-maximization; ties are half a win each.

    `prior_games` virtual ties against a fixed 1000-rated anchor keep a contender with no wins (or
    no losses) finite; with 0 it is the plain maximum-likelihood fit, centred on a mean of 1000."""
    index = {n: i for i, n in enumerate(names)}
    k = len(names)
    wins = np.zeros((k, k))
    for v in votes:
        sa, sb = SCORE[v.outcome]
        i, j = index[v.a], index[v.b]
        wins[i, j] += sa
        wins[j, i] += sb
    games = wins + wins.T
    total_wins = wins.sum(axis=1) + prior_games / 2
    p = np.ones(k)
    for _ in range(10_000):
        denom = (games / (p[:, None] + p[None, :])).sum(axis=1) + prior_games / (p + 1.0)
        new = np.where(denom > 0, total_wins / np.maximum(denom, 1e-300), 1.0)
        if prior_games == 0:
            new = new / np.exp(np.log(np.maximum(new, 1e-300)).mean())
        if np.max(np.abs(new - p)) < 1e-12:
            p = new
            break
        p = new
    return 1000.0 + 400.0 * np.log10(np.maximum(p, 1e-300))


def leaderboard(votes: list[Vote], seed: int = 0) -> list[Standing]:
    names = sorted({v.a for v in votes} | {v.b for v in votes})
    if not names:
        return []
    ratings = bradley_terry(votes, names)
    rng = random.Random(seed)
    samples = np.array([bradley_terry(rng.choices(votes, k=len(votes)), names) for _ in range(BOOTSTRAP_ROUNDS)])
    low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    rows = []
    for i, name in enumerate(names):
        mine = [(SCORE[v.outcome][0] if v.a == name else SCORE[v.outcome][1]) for v in votes if name in (v.a, v.b)]
        rows.append(Standing(name, float(ratings[i]), float(low[i]), float(high[i]), len(mine), sum(mine) / len(mine)))
    return sorted(rows, key=lambda s: -s.rating)


def table(rows: list[Standing]) -> list[list]:
    return [
        [r.name, round(r.rating), f"{r.low:.0f} – {r.high:.0f}", r.battles, f"{100 * r.win_rate:.1f}%"] for r in rows
    ]


TABLE_HEADERS = ["model", "rating", "ci", "battles", "win_rate"]  # keys of the catalog's `board.` strings
