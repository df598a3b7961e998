"""Blind battles: who may fight, the draw, and the leaderboard (Bradley-Terry on the Elo scale, over the
counted votes; excluded ones are shown beside it, see worker/store/votes.py)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

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


def contenders(models: list[ModelEntry], chosen: str = "") -> list[Contender]:
    """`chosen` (RIO_BATTLE_CONTENDERS: `key` or `key:mode`, comma-separated) among the configured models;
    empty: every configured model but `paced`. A bare key is its default mode, and a SwiReasoning model
    also fights with it off (thinking)."""
    by_key = {e.key: e for e in models}
    picks = [tuple(p.strip().split(":", 1)) for p in chosen.split(",") if p.strip()]
    if not picks:
        picks = [(e.key,) for e in models if e.backend != "paced"]
    out = []
    for key, *mode in picks:
        e = by_key.get(key)
        if e is None:
            continue
        default = [e.default_reasoning] + (["thinking"] if e.default_reasoning == "swireasoning" else [])
        out += [Contender(side_label(e.label, m), e.key, m) for m in (mode or default)]
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
    battles: int  # counted votes
    win_rate: float  # ties and "both bad" count half
    excluded: int = 0  # votes stored but not counted (worker/store/votes.py says why)


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
    """Every contender any vote names; ratings, intervals and win rates over the counted votes only."""
    counted = [v for v in votes if v.counted]
    names = sorted({v.a for v in counted} | {v.b for v in counted})
    rows = []
    if names:
        ratings = bradley_terry(counted, names)
        rng = random.Random(seed)
        samples = np.array(
            [bradley_terry(rng.choices(counted, k=len(counted)), names) for _ in range(BOOTSTRAP_ROUNDS)]
        )
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
        for i, name in enumerate(names):
            mine = [SCORE[v.outcome][0] if v.a == name else SCORE[v.outcome][1] for v in counted if name in (v.a, v.b)]
            rows.append(
                Standing(name, float(ratings[i]), float(low[i]), float(high[i]), len(mine), sum(mine) / len(mine))
            )
    others = sorted(({v.a for v in votes} | {v.b for v in votes}) - set(names))
    rows += [Standing(name, math.nan, math.nan, math.nan, 0, math.nan) for name in others]
    excluded = [v for v in votes if not v.counted]
    rows = [replace(r, excluded=sum(r.name in (v.a, v.b) for v in excluded)) for r in rows]
    return sorted(rows, key=lambda s: -s.rating if s.battles else math.inf)


def table(rows: list[Standing]) -> list[list]:
    """Rows as shown; a contender whose every vote is excluded has no rating (—)."""
    return [
        [r.name, round(r.rating), f"{r.low:.0f} – {r.high:.0f}", r.battles, f"{100 * r.win_rate:.1f}%", r.excluded]
        if r.battles
        else [r.name, "—", "—", 0, "—", r.excluded]
        for r in rows
    ]


TABLE_HEADERS = ["model", "rating", "ci", "battles", "win_rate"]  # keys of the catalog's `board.` strings
