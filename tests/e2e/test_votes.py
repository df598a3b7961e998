"""Votes you can count on, through the real page (gradio_client), Celery, Redis and the paced backend:
one voter per client however it forges X-Forwarded-For (the peer is no trusted proxy here), one vote per
battle, votes per hour, a daily cap on one voter's counted votes on a pair (the rating moves no more than
the cap allows), and a battle where a side names a model stored but not counted, which the table and
`python -m worker.export votes` say."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from gradio_client import Client

from demo.battle import contenders, leaderboard
from demo.i18n import text
from tests.support.helpers import DEFAULTS, last_answer, value
from worker.jobs import Settings, Vote, available
from worker.ops.devstack import ROOT, env_for, free_port, start_web, stop

VOTES_PER_HOUR, PAIR_CAP = 6, 2
PT_BR = {"Accept-Language": "pt-BR,pt;q=0.9"}  # a Brazilian visitor: the replies are said in Portuguese
SECRET = uuid.uuid4().hex  # this web's own voters: counters no other test's votes touch
KNOBS = {**{k: v for k, v in DEFAULTS.items() if k not in ("model", "reasoning")}, "max_tokens": 10}
VOTER = hmac.new(SECRET.encode(), b"ip:127.0.0.1", hashlib.sha256).hexdigest()[:32]  # every client here
THINKING, OFF = (c.name for c in contenders(available(Settings(paced_model=True)), "paced:thinking,paced:off"))


@pytest.fixture(scope="module")
def vote_web(settings, redis_proc, sglang_worker) -> Iterator[str]:
    """A web whose battles are paced (thinking) vs paced (off), trusting no proxy, with small vote limits."""
    s = settings.model_copy(update={"web_port": free_port(), "web_metrics_port": free_port(), "trusted_proxies": ""})
    proc, url = start_web(s, RIO_VOTES_PER_HOUR=str(VOTES_PER_HOUR), RIO_VOTER_PAIR_DAILY_CAP=str(PAIR_CAP),
                          RIO_BATTLE_CONTENDERS="paced:thinking,paced:off", RIO_VOTER_SECRET=SECRET)  # fmt: skip
    yield url
    stop(proc)


def battle(client: Client, prompt: str = "Which of you is better?") -> tuple[list[dict], list[dict]]:
    """A new battle, asked once; a new forged X-Forwarded-For each time (it must buy no new voter)."""
    client.headers["X-Forwarded-For"] = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    client.predict(api_name="/new_battle")
    out = client.predict({"text": prompt, "files": []}, **KNOBS, api_name="/battle")
    return value(out[0]), value(out[1])


def english_board(url: str) -> dict[str, list]:
    """The leaderboard's rows by the stored (English) side names: what an API client without Accept-Language reads."""
    return {row[0]: row for row in Client(url, verbose=False).predict(api_name="/leaderboard")["data"]}


def stored(r) -> list[Vote]:
    return [Vote.model_validate_json(raw) for raw in r.lrange("votes", 0, -1)]


def mine(r) -> list[Vote]:
    """This voter's votes today on the one pair of this web's battles."""
    day = int(time.time() // 86_400)
    return [v for v in stored(r) if v.voter == VOTER and {v.a, v.b} == {THINKING, OFF} and v.time // 86_400 == day]


def rating(votes: list[Vote], name: str) -> float:
    rows = {row.name: row for row in leaderboard(votes)}
    return rows[name].rating if name in rows and rows[name].battles else 1000.0


def test_a_battle_where_a_side_names_a_model_is_kept_but_not_counted(vote_web, r, settings):
    client = Client(vote_web, verbose=False, headers=PT_BR)
    a, _ = battle(client, "echo: I am Qwen")  # the paced backend says it
    assert "Qwen" in last_answer(a).thinking + last_answer(a).answer, a
    reply = client.predict(api_name="/vote_a")
    assert text("vote.not_counted.names_a_model", "pt", word="Qwen") in reply, reply
    vote = stored(r)[-1]
    assert (vote.excluded, vote.reason, vote.voter) == ("names_a_model", "answer A names Qwen", VOTER)
    assert r.get(f"share:{vote.battle}") is not None, "the battle is kept"
    board = english_board(vote_web)
    excluded = sum(not v.counted and vote.a in (v.a, v.b) for v in stored(r))
    assert board[vote.a][5] == excluded >= 1, board[vote.a]
    assert board[vote.a][3] == sum(v.counted and vote.a in (v.a, v.b) for v in stored(r)), "not among the counted"
    exported = export(settings)
    assert {**vote.model_dump(mode="json"), "counted": False} in exported, "the admin export has it, with its reason"
    assert "127.0.0.1" not in json.dumps(exported), "voters as hashes, never addresses"


def export(settings) -> list[dict]:
    """`python -m worker.export votes`, as an operator runs it."""
    out = subprocess.run([sys.executable, "-m", "worker.export", "votes"], env=env_for(settings), cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=60).stdout  # fmt: skip
    return [json.loads(line) for line in out.splitlines()]


def test_a_stuffing_voter_gets_one_vote_per_battle_its_hourly_votes_and_a_capped_influence(vote_web, r):
    client = Client(vote_web, verbose=False, headers=PT_BR)
    battle(client)
    n = len(stored(r))
    double = [client.submit(api_name="/vote_a"), client.submit(api_name="/vote_b")]  # a double click
    assert [job.result() for job in double] and len(stored(r)) == n + 1, "one vote per battle"
    target, other = THINKING, OFF
    before = [v for v in stored(r) if v.counted]
    counted_before = sum(v.counted for v in mine(r))
    used = int(r.get(f"vote:{VOTER}:h:{int(time.time() // 3600)}") or 0)
    accepted, refusal = 0, ""
    for _ in range(VOTES_PER_HOUR + 1):  # the stuffer votes for the side that shows its thinking
        a, _ = battle(client)
        reply = client.predict(api_name=f"/vote_{'a' if last_answer(a).thinking else 'b'}")
        if "limite por visitante" in reply:
            refusal = reply
            break
        accepted += 1
    assert accepted == VOTES_PER_HOUR - used and refusal.startswith(f"Você já deu {VOTES_PER_HOUR} votos"), refusal
    allowed = max(0, PAIR_CAP - counted_before)
    counted = [v for v in mine(r) if v.counted][counted_before:]
    assert len(counted) == min(accepted, allowed), "the daily cap on one voter's pair"
    assert all(v.reason for v in mine(r) if v.excluded == "voter_pair_cap")
    after = [v for v in stored(r) if v.counted]
    board = english_board(vote_web)
    assert board[target][1] == round(rating(after, target)), "the table shows the counted votes' rating"
    wins = [Vote(battle="x" * 24, a=target, b=other, outcome="a") for _ in range(accepted)]
    cap_allows = rating(before + wins[:allowed], target) - rating(before, target)
    assert rating(after, target) - rating(before, target) <= cap_allows + 1e-9, "moved no more than the cap allows"
    assert rating(before + wins, target) - rating(before, target) > cap_allows, "uncapped, it would have moved more"
