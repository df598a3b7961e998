"""Budgets for what visitors make the service keep: image bytes and shares per client per hour, and one
memory budget for all uploads and share snapshots together, all in Redis so every web process shares them.

Keys:
    budget:<client>:img:<hour>     image bytes this client stored in that hour (fixed window)
    budget:<client>:share:<hour>   shares this client made in that hour
    budget:<client>:fb:<hour>      answers this client rated in that hour

Redis itself runs with a `maxmemory` and `noeviction` (`worker.ops.redis_server`): it never drops a job
stream, a share or a counter to make room. The memory budget (`store_budget_mb`, and at most 3/4 of
the maxmemory a Redis reports) sits below it: past the budget, new uploads and shares are refused
plainly, and the room above stays for job streams, queues and limit counters, so running jobs,
streams and existing share links keep working.
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

import redis.exceptions

from worker.errors import FeedbackOverBudget, OverBudget, StoreFull
from worker.ops.metrics import REFUSED, STORED
from worker.ops.settings import Settings
from worker.sentences import plural_key

HOUR_S = 3600
MAXMEMORY_SHARE = 0.75  # of a Redis's maxmemory that uploads and snapshots may fill; the rest is for jobs
# KEYS: counter. ARGV: amount, limit, window seconds. Returns {0, total} when charged, {1, ttl} when over.
CHARGE_SCRIPT = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {1, redis.call('TTL', KEYS[1])} end
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if total == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return {0, total}
"""
Kind = Literal["image", "shared_image", "snapshot", "feedback"]


def wait_of(seconds: int) -> tuple[int, str]:
    """A wait in seconds, or in whole minutes past two of them, with its unit (a key of WORDS)."""
    return (seconds, "s") if seconds < 120 else (math.ceil(seconds / 60), "minutes")


def refused(over: int, budget: str) -> tuple[int, str]:
    """Count a refusal of the per-client hourly `budget`; the wait until its reset, `over` seconds away."""
    REFUSED.labels(budget).inc()
    return wait_of(over)


class Budgets:
    """Web side (asyncio Redis client): checks and charges the budgets; each refusal one sentence."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.redis = client
        self.settings = settings

    async def check_memory(self, what: Literal["upload", "share", "feedback"]) -> None:
        """StoreFull once Redis uses more than the budget for uploads and snapshots: `store_budget_mb`,
        and never above 3/4 of the Redis's own maxmemory where it reports one (a managed Redis)."""
        info = await self.redis.info("memory")
        limits = [self.settings.store_budget_mb * 2**20, int(int(info.get("maxmemory") or 0) * MAXMEMORY_SHARE)]
        if not self.settings.store_budget_mb or int(info["used_memory"]) < min(x for x in limits if x):
            return
        REFUSED.labels("memory").inc()
        raise StoreFull(
            "store_full_upload"
            if what == "upload"
            else "store_full_share"
            if what == "share"
            else "store_full_feedback"
        )

    async def charge_images(self, client: str | None, nbytes: int) -> None:
        """Charge `nbytes` of stored images to this client's hour; 0 bytes checks that some are left
        (before the work of decoding an upload)."""
        limit = self.settings.image_mb_per_hour * 1024 * 1024
        over = await self._charge(client, "img", nbytes, limit if nbytes else limit - 1)
        if over is not None:
            wait, unit = refused(over, "client_image_bytes")
            raise OverBudget("image_budget", mb=self.settings.image_mb_per_hour, wait=wait, unit_word=unit)

    async def charge_share(self, client: str | None) -> None:
        limit = self.settings.shares_per_hour
        over = await self._charge(client, "share", 1, limit)
        if over is not None:
            wait, unit = refused(over, "client_shares")
            raise OverBudget(plural_key("share_budget", limit), limit=limit, wait=wait, unit_word=unit)

    async def charge_feedback(self, client: str | None) -> None:
        limit = self.settings.feedback_per_hour
        over = await self._charge(client, "fb", 1, limit)
        if over is not None:
            wait, unit = refused(over, "client_feedback")
            raise FeedbackOverBudget(plural_key("feedback_budget", limit), limit=limit, wait=wait, unit_word=unit)

    async def _charge(self, client: str | None, what: str, amount: int, limit: int) -> int | None:
        """None when charged; else the seconds until this client's window resets."""
        if client is None or limit <= 0:
            return None
        hour = int(time.time() // HOUR_S)
        verdict, value = await self.redis.eval(CHARGE_SCRIPT, 1, f"budget:{client}:{what}:{hour}", amount, limit,
                                               HOUR_S + 1)  # fmt: skip
        return max(1, int(value)) if int(verdict) == 1 else None

    async def store(self, key: str, data: bytes | str, *, kind: Kind, ex: int | None = None, nx: bool = False
                    ) -> bool:  # fmt: skip
        """SET, counted in `rio_stored_bytes_total{kind}`; Redis at its maxmemory is a plain StoreFull."""
        try:
            written = bool(await self.redis.set(key, data, ex=ex, nx=nx))
        except redis.exceptions.OutOfMemoryError as exc:
            REFUSED.labels("redis_maxmemory").inc()
            raise StoreFull("store_full") from exc
        if written:
            STORED.labels(kind).inc(len(data))
        return written
