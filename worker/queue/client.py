"""The web's side of the job protocol: `JobClient` submits a job, follows its events through the
process's one `StreamHub`, and cancels it. The worker's side is `worker.queue.stream`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import redis
import redis.asyncio as aioredis
from redis.driver_info import DriverInfo

from worker.intake.images import ImageStore
from worker.limits.admission import Admission
from worker.ops.settings import Settings
from worker.queue.celery_app import Publish, make_publisher
from worker.queue.hub import StreamHub, entry_order
from worker.queue.protocol import (
    TERMINAL,
    Done,
    Error,
    Event,
    JobSpec,
    ModelHealth,
    Queued,
    error_event,
    health_key,
    parse_event,
)
from worker.queue.stream import APPEND_SCRIPT, STREAM_MAXLEN, append_args, key, worker_lost
from worker.store.feedback import FeedbackStore
from worker.store.records import ShareStore
from worker.store.votes import VoteStore

log = logging.getLogger(__name__)
# Given, so that a new pooled connection does not look redis-py's version up in the installed
# packages' metadata (a scan of sys.path): 5 % of the web's burst when 64 connections opened (py-spy).
REDIS_DRIVER = DriverInfo(name="redis-py", lib_version=redis.__version__)
STORED_HOPS = {"queued": "enqueued", "started": "started", "reasoning": "written", "answer": "written"}

# and its Celery message in one round trip.
SUBMIT_SCRIPT = """
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('LPUSH', KEYS[2], ARGV[3])
return 1
"""


class JobClient:
    """Web side: submit a job, follow its events (through the process's one `StreamHub`), cancel it."""

    def __init__(self, client: aioredis.Redis, publish: Publish, settings: Settings) -> None:
        self.redis = client
        self.publish = publish
        self.hub = StreamHub(client, lambda job_id: key(job_id, "events"))
        self.settings = settings
        self.images = ImageStore(client, settings)
        self.shares = ShareStore(client, settings)
        self.admission = Admission(client, settings)
        self.votes = VoteStore(client, settings)
        self.feedback = FeedbackStore(client, settings)
        self._append = client.register_script(APPEND_SCRIPT)
        self._submit = client.register_script(SUBMIT_SCRIPT)

    @classmethod
    def from_settings(cls, settings: Settings) -> JobClient:
        # the hub holds one connection; the rest serve page requests (each session's position checks)
        client = aioredis.Redis.from_url(settings.redis_url, health_check_interval=10, max_connections=1024,
                                        driver_info=REDIS_DRIVER)  # fmt: skip
        return cls(client, make_publisher(settings), settings)

    async def submit(self, spec: JobSpec) -> JobSpec:
        """Take a queue ticket (QueueFull past the limit), then announce the position and enqueue the
        job in one script: two round trips, no thread. Returns the spec as sent, with its ticket."""
        ticket, ahead, wait = await self.admission.ticket(spec.model)
        spec = spec.model_copy(update={"ticket": ticket})
        queue, message = self.publish(spec)
        queued = Queued(position=ahead, wait_s=wait).model_dump_json()
        await self._submit(keys=[key(spec.id, "events"), queue], args=[queued, STREAM_MAXLEN, message])
        return spec

    async def append(self, job_id: str, event: Event) -> bool:
        keys, args = append_args(job_id, event, self.settings.stream_ttl_s)
        return bool(await self._append(keys=keys, args=args))

    async def health(self, model: str) -> ModelHealth | None:
        """The last published health of a remote model; None if no worker reported it."""
        raw = await self.redis.get(health_key(model))
        return ModelHealth.model_validate_json(raw) if raw else None

    async def cancel(self, job_id: str) -> None:
        """Ask the worker to stop; a job no worker has claimed yet is ended here, at once."""
        await self.redis.set(key(job_id, "cancel"), "1", ex=self.settings.stream_ttl_s)
        if await self.redis.set(key(job_id, "claim"), "cancelled", nx=True, ex=self.settings.stream_ttl_s):
            await self.append(job_id, Done(finish_reason="cancelled"))

    async def events(self, job_id: str, after: str = "0-0", queue: tuple[str, int] | None = None
                     ) -> AsyncIterator[Event]:  # fmt: skip
        """Every event of the job from `after` on, ending with its one terminal event.

        While it waits, `queue` (model, ticket) yields fresh `queued` positions (not stored). A
        started job whose heartbeat lapses ends with a `worker_lost` error, written to the stream
        too, so a reload replays the same ending."""
        started = False
        position: tuple[int, float | None] | None = None
        follower = self.hub.follow(job_id, after)
        try:
            while True:
                batch = await follower.next(timeout_s=0.5)
                for _, fields in batch:
                    event = parse_event(fields[b"e"])
                    started = started or event.type == "started"
                    yield event
                    if event.type in TERMINAL:
                        return
                if batch:
                    continue
                if not started and queue is not None:
                    now = await self.admission.position(*queue)
                    if position is not None and now[0] != position[0]:
                        yield Queued(position=now[0], wait_s=now[1])
                    position = now
                if started and (lost := await self._lost(job_id)) is not None:
                    yield lost
                    return
        finally:
            self.hub.leave(follower)

    async def stored_hops(self, job_id: str) -> dict[str, float]:
        """When Redis stored the job's first `queued`, `started` and content event (wall-clock seconds,
        from the entry ids' milliseconds), as the hops `enqueued`, `started`, `written`: the worker's
        side of a first token's path (`demo/hops.py`, `bench.pipeline`)."""
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await self.redis.xrange(key(job_id, "events"))  # type: ignore[assignment]  # redis-py types replies loosely
        hops: dict[str, float] = {}
        for entry_id, fields in entries:
            if (hop := STORED_HOPS.get(parse_event(fields[b"e"]).type)) is not None:
                hops.setdefault(hop, entry_order(entry_id)[0] / 1000)
        return hops

    async def _lost(self, job_id: str) -> Error | None:
        """The `worker_lost` error, written to the stream, when a started job's heartbeat lapsed."""
        if await self.redis.exists(key(job_id, "hb")):
            return None
        lost = error_event(worker_lost())
        return lost if await self.append(job_id, lost) else None
