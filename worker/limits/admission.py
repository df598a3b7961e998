"""Who gets in: queue tickets and wait estimates per model, and limits per client, all in Redis.

Keys:
    queue:<model>:ticket     INCR per submitted job (the job carries its ticket)
    queue:<model>:served     highest ticket a worker has started (jobs ahead = ticket - served - 1)
    queue:<model>:ends       the last 100 jobs' "end_time:duration", pushed by workers
    limit:<client>:m:<min>   requests in that minute (fixed window)
    limit:<client>:active    sorted set of running job slots, scored by when they lapse

Several web processes share these, so limits and positions hold across all of them.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from worker.errors import QueueFull, RateLimited
from worker.limits.identity import quota
from worker.ops.settings import Settings
from worker.sentences import plural_key

RECENT_JOBS = 100
# KEYS[1]: served. ARGV[1]: ticket. Raises served to ticket (never lowers it).
RAISE_SERVED = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end
"""
SERVED_SCRIPT = RAISE_SERVED + "return 1"
# KEYS: served, claim. ARGV: ticket, worker, claim ttl (s). The job stops waiting, and the first
# claimant gets it (1; 0 after): both in the one round trip a starting job makes before its answer.
CLAIM_SCRIPT = RAISE_SERVED + "if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[3]) then return 1 end return 0"
# KEYS: minute counter, active set. ARGV: now, rpm limit, active limit, lapse time, slot ids...
# Returns {0, 0} when admitted, {1, seconds} over the per-minute limit, {2, n} over the running-jobs limit.
ADMIT_SCRIPT = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local n = #ARGV - 4
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + 1 > tonumber(ARGV[2]) then
  return {1, redis.call('TTL', KEYS[1])}
end
local active = redis.call('ZCARD', KEYS[2])
if active + n > tonumber(ARGV[3]) then return {2, active} end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 61)
for i = 5, #ARGV do redis.call('ZADD', KEYS[2], ARGV[4], ARGV[i]) end
redis.call('EXPIRE', KEYS[2], math.ceil(tonumber(ARGV[4]) - now) + 1)
return {0, 0}
"""


def served_key(model: str) -> str:
    return f"queue:{model}:served"


def ends_key(model: str) -> str:
    return f"queue:{model}:ends"


def wait_estimate(ahead: int, ends: list[bytes], now: float) -> float | None:
    """Seconds until a job with `ahead` jobs before it starts, from how fast recent jobs finished.

    The finish rate over the recent window already reflects how many workers serve the model;
    with fewer than two recent jobs, fall back to their mean duration per job ahead."""
    parsed = [tuple(map(float, e.decode().split(":"))) for e in ends]
    if not parsed:
        return None
    times = [t for t, _ in parsed]
    span = now - min(times)
    if len(parsed) >= 2 and span > 0:
        return ahead / (len(parsed) / span)
    return ahead * sum(d for _, d in parsed) / len(parsed)


def ahead_of(ticket: int, served: bytes | None, ends: list[bytes]) -> tuple[int, float | None]:
    ahead = max(0, ticket - int(served or 0) - 1)
    return ahead, wait_estimate(ahead, ends, time.time())


class Admission:
    """Web side: tickets, positions and per-client limits (asyncio Redis client)."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.redis = client
        self.settings = settings
        self._admit = client.register_script(ADMIT_SCRIPT)

    async def ticket(self, model: str) -> tuple[int, int, float | None]:
        """A new ticket, the jobs ahead of it and the estimated wait (one round trip); raises QueueFull
        past the limit."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(f"queue:{model}:ticket")
        pipe.get(served_key(model))
        pipe.lrange(ends_key(model), 0, -1)
        ticket, served, ends = await pipe.execute()
        ahead, wait = ahead_of(int(ticket), served, ends)
        if ahead >= self.settings.max_queue:
            again = math.ceil(wait or 30.0)
            raise QueueFull(plural_key("queue_full", ahead), waiting=ahead, again=again)
        return int(ticket), ahead, wait

    async def position(self, model: str, ticket: int) -> tuple[int, float | None]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(served_key(model))
        pipe.lrange(ends_key(model), 0, -1)
        served, ends = await pipe.execute()
        return ahead_of(ticket, served, ends)

    async def admit(self, client: str, jobs: int) -> list[str]:
        """Slots for `jobs` jobs of this client, or RateLimited with the time to wait."""
        limit = quota(client, self.settings)
        now = time.time()
        slots = [uuid.uuid4().hex for _ in range(jobs)]
        keys = [f"limit:{client}:m:{int(now // 60)}", f"limit:{client}:active"]
        verdict, value = await self._admit(
            keys=keys, args=[now, limit.requests_per_minute, limit.jobs, now + self.settings.job_timeout_s, *slots]
        )
        if verdict == 1:
            wait = max(1, int(value))
            raise RateLimited("rate_limited", limit=limit.requests_per_minute, wait=wait)
        if verdict == 2:
            raise RateLimited(plural_key("jobs_running", int(value)), running=int(value), limit=limit.jobs)
        return slots

    async def release(self, client: str, slots: list[str]) -> None:
        if slots:
            await self.redis.zrem(f"limit:{client}:active", *slots)


def job_started(client: Any, model: str, ticket: int) -> None:
    """Worker side (sync Redis): this ticket is no longer waiting."""
    if ticket:
        client.eval(SERVED_SCRIPT, 1, served_key(model), ticket)


def job_claimed(client: Any, model: str, ticket: int, claim_key: str, worker: str, ttl_s: int) -> bool:
    """Worker side (sync Redis): this ticket is no longer waiting, and the job is `worker`'s unless
    another claimed it first (a redelivered or cancelled job)."""
    return bool(client.eval(CLAIM_SCRIPT, 2, served_key(model), claim_key, ticket, worker, ttl_s))


def job_ended(client: Any, model: str, duration_s: float) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.lpush(ends_key(model), f"{time.time():.3f}:{duration_s:.3f}")
    pipe.ltrim(ends_key(model), 0, RECENT_JOBS - 1)
    pipe.execute()
