"""The web process's stream hub: one task reads every followed job stream with one `XREAD`.

A session follows a job (`follow`) and takes its entries in batches (`Follower.next`); the hub keeps
one blocking `XREAD` on all followed streams at once (one connection, no thread, no task per
stream) and hands each batch to the sessions that follow that stream. A session that leaves
(`leave`) is dropped from the next read. A new follower wakes a blocked read through the hub's own
wake stream, so it never waits out the block. When Redis fails, every follower gets the error (the
page says "unavailable") and the hub retries until Redis is back, for whoever follows next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions

log = logging.getLogger(__name__)
Entry = tuple[bytes, dict[bytes, bytes]]


def entry_order(entry_id: str | bytes) -> tuple[int, int]:
    """A stream entry id (`<ms>-<seq>`) as a tuple that sorts like Redis does."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


class Follower:
    """One session's view of one job stream: the entries after `after`, in batches."""

    def __init__(self, job_id: str, after: str) -> None:
        self.job_id = job_id
        self.after = after
        self.order = entry_order(after)
        self._batch: list[Entry] = []
        self._error: BaseException | None = None
        self._ready = asyncio.Event()

    def deliver(self, entries: list[Entry]) -> None:
        """Hand over the entries this follower has not seen (several followers may share a read)."""
        fresh = [e for e in entries if entry_order(e[0]) > self.order]
        if not fresh:
            return
        self._batch.extend(fresh)
        self.after = fresh[-1][0].decode()
        self.order = entry_order(self.after)
        self._ready.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._ready.set()

    async def next(self, timeout_s: float) -> list[Entry]:
        """The entries that arrived since the last call; [] after `timeout_s` without any.
        Raises the Redis error the hub met while this follower waited."""
        if not self._ready.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self._ready.wait()
        self._ready.clear()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        batch, self._batch = self._batch, []
        return batch


class StreamHub:
    """Per web process: follows many job streams with one multiplexed, blocking `XREAD`."""

    BLOCK_MS = 2000
    COUNT = 512  # entries per stream per read
    RETRY_S = 0.5
    # After a read that brought entries, the next waits a moment that grows with the streams it
    # names: an XREAD's cost grows with them too (its arguments, its reply), and back-to-back reads
    # of 64 streams at 20 tokens/s each took a sixth of the web's CPU for one entry or two apiece
    # (py-spy). 0.1 ms per stream, at most 20 ms: below the page's render cadence at any load.
    PAUSE_PER_STREAM_S = 0.0001
    MAX_PAUSE_S = 0.02

    def __init__(self, client: aioredis.Redis, stream_key: Any) -> None:
        self.redis = client
        self.stream_key = stream_key  # job id -> its events stream key
        self.wake_key = f"hub:{uuid.uuid4().hex}:wake"
        self._wake_after = "0-0"
        self._followers: dict[str, list[Follower]] = {}
        self._task: asyncio.Task[None] | None = None
        self._blocked = False

    @property
    def streams(self) -> int:
        """How many job streams this process follows (the render cadence stretches with it)."""
        return len(self._followers)

    def pause_s(self) -> float:
        return min(self.MAX_PAUSE_S, len(self._followers) * self.PAUSE_PER_STREAM_S)

    def following(self, job_id: str) -> bool:
        return job_id in self._followers

    def follow(self, job_id: str, after: str = "0-0") -> Follower:
        follower = Follower(job_id, after)
        self._followers.setdefault(job_id, []).append(follower)
        self._ensure_running()
        return follower

    def leave(self, follower: Follower) -> None:
        same = self._followers.get(follower.job_id, [])
        if follower in same:
            same.remove(follower)
        if not same:
            self._followers.pop(follower.job_id, None)
        if not self._followers:
            self._wake()  # a blocked read with nobody left would hold its connection for nothing

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            self._task = loop.create_task(self._run(), name="stream-hub")
        else:
            self._wake()

    def _wake(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a follower closed outside the loop (garbage collection): the read times out
            return
        if self._blocked:
            self._blocked = False  # one wake per blocked read is enough
            task = loop.create_task(self._send_wake())
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _send_wake(self) -> None:
        with contextlib.suppress(redis.exceptions.RedisError):
            pipe = self.redis.pipeline(transaction=False)
            pipe.xadd(self.wake_key, {"w": "1"}, maxlen=1)
            pipe.expire(self.wake_key, 60)
            await pipe.execute()

    async def _run(self) -> None:
        while self._followers:
            try:
                await self._read_once()
            except Exception as exc:  # the hub must outlive anything one read throws
                self._blocked = False
                if isinstance(exc, redis.exceptions.RedisError):
                    log.warning("stream hub: Redis unavailable (%s)", exc)
                else:
                    log.exception("stream hub: read failed")
                for followers in list(self._followers.values()):
                    for follower in followers:
                        follower.fail(exc)
                await asyncio.sleep(self.RETRY_S)

    async def _read_once(self) -> None:
        cursors: dict[Any, Any] = {
            self.stream_key(job): min(fs, key=lambda f: f.order).after for job, fs in self._followers.items()
        }
        jobs = {self.stream_key(job): job for job in self._followers}
        cursors[self.wake_key] = self._wake_after
        self._blocked = True
        reply: Any = await self.redis.xread(cursors, block=self.BLOCK_MS, count=self.COUNT)
        self._blocked = False
        delivered = False
        for stream, entries in reply or []:
            name = stream.decode() if isinstance(stream, bytes) else stream
            if name == self.wake_key:
                self._wake_after = entries[-1][0].decode()
                continue
            for follower in list(self._followers.get(jobs.get(name, ""), [])):
                follower.deliver(entries)
            delivered = True
        if delivered:
            await asyncio.sleep(self.pause_s())
