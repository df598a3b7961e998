"""Battle votes: who voted (a keyed hash, never an address), what, and whether the leaderboard counts it.

Keys:
    votes                          list of `Vote` JSON, append-only: every vote, counted or not
    vote:secret                    the voter-hash key when RIO_VOTER_SECRET is unset (made once, SET NX)
    vote:claim:<draw>              a battle's one vote (SET NX): a second vote on it is refused
    vote:<voter>:h:<hour>          votes this voter cast in that hour (RIO_VOTES_PER_HOUR)
    vote:<voter>:pair:<a|b>:<day>  counted votes of this voter on this pair that day (RIO_VOTER_PAIR_DAILY_CAP)

A vote is stored and not counted when an answer of its battle names a model or maker of the registry
(the battle was not blind) or when its voter already has RIO_VOTER_PAIR_DAILY_CAP counted votes on
that pair that day; `excluded` and `reason` say why. Several web processes share all of these.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any, Literal, NamedTuple

from pydantic import Field

from worker.errors import VoteRefused
from worker.limits.budgets import CHARGE_SCRIPT, HOUR_S
from worker.limits.identity import USER
from worker.models import REGISTRY
from worker.ops.settings import Settings
from worker.queue.protocol import Message_
from worker.sentences import plural_key
from worker.store.records import Outcome, Snapshot

DAY_S = 86_400
CLAIM_TTL_S = 7 * DAY_S  # a battle page left open for a week can still not be voted twice
Exclusion = Literal["names_a_model", "voter_pair_cap"]


class Vote(Message_):
    v: Literal[1, 2] = 2
    battle: str  # the share id of the voted conversation
    a: str  # contender names, as the leaderboard lists them
    b: str
    outcome: Outcome
    time: float = Field(default_factory=time.time)
    voter: str = ""  # keyed hash of the voter's client id ("" in v1 votes)
    signed_in: bool = False  # the voter was signed in with Hugging Face
    model_a: str = ""  # registry keys of the sides
    model_b: str = ""
    excluded: Exclusion | None = None  # why the leaderboard does not count it; None: counted
    reason: str = ""  # the details, e.g. "answer A names Qwen"

    @property
    def counted(self) -> bool:
        return self.excluded is None


class Voter(NamedTuple):
    hash: str
    signed_in: bool


def identity_pattern() -> re.Pattern[str]:
    """Every name and maker of every registry model, as whole words (no Latin letter on either side, so
    "Qwen3" and "通义千问" match and "Alibabaesque" does not)."""
    words = sorted({w for e in REGISTRY for w in (*e.names, *e.makers)}, key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(w) for w in words) + r")(?![A-Za-z])", re.IGNORECASE)


IDENTITY = identity_pattern()


def names_a_model(snapshot: Snapshot) -> str | None:
    """`answer A names Qwen` when a side's answer or visible thinking names a model or maker."""
    for letter, side in zip("AB", snapshot.sides, strict=False):
        text = "\n".join(t.answer + "".join(part for part, _ in t.thinking) for t in side.turns)
        found = IDENTITY.search(text)
        if found:
            return f"answer {letter} names {found.group(1)}"
    return None


class VoteStore:
    """Web side (asyncio Redis client): admits, records and lists votes."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.redis = client
        self.settings = settings
        self._key: bytes | None = None  # the voter-hash key, read once per store

    async def voter(self, client_id: str) -> Voter:
        digest = hmac.new(await self._secret(), client_id.encode(), hashlib.sha256).hexdigest()[:32]
        return Voter(digest, client_id.startswith(USER))

    async def _secret(self) -> bytes:
        """RIO_VOTER_SECRET, else one random key kept in Redis, so every web process hashes alike."""
        if self._key is None:
            if self.settings.voter_secret:
                self._key = self.settings.voter_secret.encode()
            else:
                await self.redis.set("vote:secret", secrets.token_hex(32), nx=True)
                self._key = bytes(await self.redis.get("vote:secret"))
        return self._key

    async def admit(self, client_id: str, draw: str) -> Voter:
        """The voter, holding this battle's one vote and within its votes per hour; else VoteRefused."""
        voter = await self.voter(client_id)
        if not await self.redis.set(f"vote:claim:{draw}", voter.hash, nx=True, ex=CLAIM_TTL_S):
            raise VoteRefused("vote_once", reason="once")
        limit, hour = self.settings.votes_per_hour, int(time.time() // HOUR_S)
        if limit > 0:
            over, wait = await self.redis.eval(CHARGE_SCRIPT, 1, f"vote:{voter.hash}:h:{hour}", 1, limit, HOUR_S + 1)
            if int(over):
                await self.unclaim(draw)  # refused for the voter, not for the battle
                raise VoteRefused(plural_key("vote_hourly", limit), reason="hourly", limit=limit,
                                  wait_s=max(1, int(wait)))  # fmt: skip
        return voter

    async def unclaim(self, draw: str) -> None:
        """Give a battle its vote back (the vote could not be stored)."""
        await self.redis.delete(f"vote:claim:{draw}")

    async def record(self, snapshot: Snapshot, battle: str, voter: Voter) -> Vote:
        """Store the vote, counted or not (the reason kept), and return it."""
        a, b = snapshot.sides[0], snapshot.sides[1]
        vote = Vote(battle=battle, a=a.label, b=b.label, outcome=snapshot.vote or "tie", voter=voter.hash,
                    signed_in=voter.signed_in, model_a=a.model, model_b=b.model)  # fmt: skip
        named = names_a_model(snapshot)
        if named:
            vote = vote.model_copy(update={"excluded": "names_a_model", "reason": named})
        elif await self._over_pair_cap(vote):
            cap = self.settings.voter_pair_daily_cap
            vote = vote.model_copy(update={"excluded": "voter_pair_cap", "reason": f"over {cap} a day on this pair"})
        await self.redis.rpush("votes", vote.model_dump_json())
        return vote

    async def _over_pair_cap(self, vote: Vote) -> bool:
        """Count this vote on the voter's pair for today; True past the daily cap (0 = no cap)."""
        cap = self.settings.voter_pair_daily_cap
        if cap <= 0:
            return False
        pair = "|".join(sorted((vote.a, vote.b)))
        key = f"vote:{vote.voter}:pair:{pair}:{int(vote.time // DAY_S)}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, DAY_S + 60)
        n, _ = await pipe.execute()
        return int(n) > cap

    async def all(self) -> list[Vote]:
        return [Vote.model_validate_json(raw) for raw in await self.redis.lrange("votes", 0, -1)]
