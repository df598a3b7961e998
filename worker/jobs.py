"""The job protocol in Redis: the web's `JobClient` and the worker's `EventStream`.

Keys of one job (`<id>` is `JobSpec.id`):
    job:<id>:events   Redis Stream, one entry per event (field `e`, JSON); MAXLEN, expires after the end
    job:<id>:end      set exactly once, by whoever writes the terminal event (done or error)
    job:<id>:claim    set once by the worker that runs the job (or by the web when cancelling it queued)
    job:<id>:hb       worker heartbeat, short TTL
    job:<id>:cancel   set by the web to ask the worker to stop

Every write goes through one Lua script that refuses anything after the terminal event, so a
stream always ends with exactly one `done`/`error` and nothing follows it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Literal

import redis
import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict

from worker.admission import Admission
from worker.errors import (  # noqa: F401  (re-exported for demo/)
    BackendUnavailable,
    InputError,
    QueueFull,
    RateLimited,
    RioError,
    ServiceUnavailable,
    ShareNotFound,
)
from worker.hub import StreamHub
from worker.identity import ADDRESS, USER  # noqa: F401  (re-exported for demo/)
from worker.images import ImageStore
from worker.metrics import ACTIVE, REJECTED  # noqa: F401  (re-exported for demo/)
from worker.metrics import serve as serve_metrics  # noqa: F401
from worker.models import ModelEntry, available, default_pair, queue_name  # noqa: F401  (re-exported for demo/)
from worker.protocol import (  # noqa: F401  (re-exported: demo/ imports the protocol from here)
    TERMINAL,
    AnswerDelta,
    ChatMessage,
    Done,
    Error,
    Event,
    ImagePart,
    JobSpec,
    Queued,
    Reasoning,
    ReasoningDelta,
    Sampling,
    Started,
    Stats,
    Switch,
    TextPart,
    error_event,
    parse_event,
)
from worker.records import (  # noqa: F401  (re-exported for demo/)
    Outcome,
    ShareStore,
    SideRecord,
    Snapshot,
    TurnRecord,
    Vote,
    VoteStore,
)
from worker.settings import Settings
from worker.validation import check_message, job_spec  # noqa: F401  (re-exported for demo/)

log = logging.getLogger(__name__)

STREAM_MAXLEN = 50_000
# KEYS: events, end. ARGV: payload, is_terminal, maxlen, ttl. Returns 1 if written, 0 if the stream had ended.
APPEND_SCRIPT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if ARGV[2] == '1' then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[4])
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[1])
if ARGV[2] == '1' then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
return 1
"""
# KEYS: events, queue list. ARGV: queued payload, maxlen, Celery message. A new job's `queued` event
# and its Celery message in one round trip.
SUBMIT_SCRIPT = """
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('LPUSH', KEYS[2], ARGV[3])
return 1
"""


def key(job_id: str, part: str) -> str:
    return f"job:{job_id}:{part}"


def _append_args(job_id: str, event: Event, ttl: int) -> tuple[list[str], list[str]]:
    terminal = "1" if event.type in TERMINAL else "0"
    payload = event.model_dump_json()
    return [key(job_id, "events"), key(job_id, "end")], [payload, terminal, str(STREAM_MAXLEN), str(ttl)]


class OpenStreams:
    """How many job streams this process is writing; the coalescing window grows with it."""

    def __init__(self) -> None:
        self._n = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self._n += n

    @property
    def n(self) -> int:
        return self._n


OPEN_STREAMS = OpenStreams()
Delta = ReasoningDelta | AnswerDelta


class EventStream:
    """Worker side: appends a job's events; knows whether the web asked to cancel.

    Deltas are coalesced under load: a delta is written at once when the last delta write is older
    than the window (0.5 ms x open streams in this process, at most 50 ms); otherwise it joins one
    pending entry that the next write or the process's `StreamKeeper` (in one pipeline for all
    streams) sends when due. One stream below 2,000 tokens/s is never delayed; with 64 streams each
    writes at most ~20-30 entries per second."""

    WINDOW_PER_STREAM_S = 0.0005
    WINDOW_MAX_S = 0.05

    def __init__(self, client: redis.Redis, job_id: str, settings: Settings) -> None:
        self.redis = client
        self.job_id = job_id
        self.ttl = settings.stream_ttl_s
        self._append = client.register_script(APPEND_SCRIPT)
        self._pending: Delta | None = None
        self._last_delta_write = 0.0
        self.lock = threading.Lock()  # the StreamKeeper holds it while it writes this stream's entry
        self.cancelled = False  # set by whoever polls the cancel key (the StreamKeeper)
        self.ended = False
        self.outcome: str | None = None  # finish reason or error code of the terminal event this stream wrote

    def window_s(self) -> float:
        return min(self.WINDOW_MAX_S, self.WINDOW_PER_STREAM_S * OPEN_STREAMS.n)

    def emit(self, event: Event) -> bool:
        """Append one event; False (and `ended`) once the stream has a terminal event."""
        with self.lock:
            if isinstance(event, ReasoningDelta | AnswerDelta):
                self._coalesce(event)
                due = self.take_due()
                return self._write(due) if due is not None else not self.ended
            pending, self._pending = self._pending, None
            if pending is not None and not self._write(pending):
                return False
            return self._write(event)

    def cancel_requested(self) -> bool:
        return self.cancelled or self.ended

    def _coalesce(self, event: Delta) -> None:
        p = self._pending
        if p is not None and p.type == event.type and getattr(p, "latent", None) == getattr(event, "latent", None):
            self._pending = p.model_copy(update={"delta": p.delta + event.delta})
            return
        if p is not None:
            self._write(p)
        self._pending = event

    def take_due(self) -> Delta | None:
        """The pending delta entry if its window has passed; call with `lock` held."""
        if self._pending is None or time.monotonic() - self._last_delta_write < self.window_s():
            return None
        pending, self._pending = self._pending, None
        self._last_delta_write = time.monotonic()
        return pending

    def _write(self, event: Event) -> bool:
        keys, args = _append_args(self.job_id, event, self.ttl)
        written = bool(self._append(keys=keys, args=args))
        if written and isinstance(event, Done | Error):
            self.outcome = event.finish_reason if isinstance(event, Done) else event.code
        if not written or event.type in TERMINAL:
            self.ended = True
        return written

    def claim(self, worker: str) -> bool:
        """True for the first claimant only: a redelivered job is never run a second time."""
        return bool(self.redis.set(key(self.job_id, "claim"), worker, nx=True, ex=self.ttl))


class StreamKeeper:
    """One thread per worker process keeps every running job's stream: every 10 ms, in one Redis
    pipeline for all streams, it sends coalesced deltas that fell due, polls cancel keys (every
    50 ms) and refreshes heartbeats (every `beat_s`). Producers never wait on Redis for these."""

    TICK_S = 0.01
    CANCEL_POLL_S = 0.05

    def __init__(self, client: redis.Redis, beat_s: float, beat_ttl_s: float) -> None:
        self.redis, self.beat_s, self.beat_ttl_ms = client, beat_s, int(beat_ttl_s * 1000)
        self._streams: dict[str, EventStream] = {}
        self._lock = threading.Lock()
        self._append = client.register_script(APPEND_SCRIPT)
        self._last_cancel_poll = self._last_beat = 0.0
        threading.Thread(target=self._run, daemon=True, name="stream-keeper").start()

    @contextmanager
    def keep(self, stream: EventStream) -> Iterator[None]:
        self.redis.set(key(stream.job_id, "hb"), "1", px=self.beat_ttl_ms)
        with self._lock:
            self._streams[stream.job_id] = stream
        OPEN_STREAMS.add(1)
        try:
            yield
        finally:
            OPEN_STREAMS.add(-1)
            with self._lock:
                self._streams.pop(stream.job_id, None)

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK_S)
            with self._lock:
                streams = list(self._streams.values())
            try:
                self.tick(streams, time.monotonic())
            except redis.RedisError:
                log.warning("stream keeper: Redis unavailable")

    def tick(self, streams: list[EventStream], now: float) -> None:
        poll = now - self._last_cancel_poll >= self.CANCEL_POLL_S
        beat = now - self._last_beat >= self.beat_s
        self._last_cancel_poll = now if poll else self._last_cancel_poll
        self._last_beat = now if beat else self._last_beat
        due: list[tuple[EventStream, Delta]] = []
        pipe = self.redis.pipeline(transaction=False)
        try:
            for stream in streams:
                stream.lock.acquire()  # held until written, so no later event overtakes this one
                event = stream.take_due()
                if event is None:
                    stream.lock.release()
                    continue
                due.append((stream, event))
                keys, args = _append_args(stream.job_id, event, stream.ttl)
                self._append(keys=keys, args=args, client=pipe)
            for stream in streams if poll else ():
                pipe.exists(key(stream.job_id, "cancel"))
            for stream in streams if beat else ():
                pipe.set(key(stream.job_id, "hb"), "1", px=self.beat_ttl_ms)
            results = pipe.execute() if len(pipe) else []
        finally:
            for stream, _ in due:
                stream.lock.release()
        for (stream, _), ok in zip(due, results, strict=False):
            stream.ended = stream.ended or not ok
        for stream, cancelled in zip(streams if poll else (), results[len(due) :], strict=False):
            stream.cancelled = stream.cancelled or bool(cancelled)


class ModelHealth(BaseModel):
    """What a worker last saw of a remote model (`model:<key>:health`, expires if no worker looks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = 1
    up: bool
    detail: str = ""


def health_key(model: str) -> str:
    return f"model:{model}:health"


Publish = Callable[[JobSpec], tuple[str, bytes]]  # a job -> (Celery queue list, message to push)


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
        self.votes = VoteStore(client)
        self._append = client.register_script(APPEND_SCRIPT)
        self._submit = client.register_script(SUBMIT_SCRIPT)

    @classmethod
    def from_settings(cls, settings: Settings) -> JobClient:
        from worker.celery_app import make_publisher

        # the hub holds one connection; the rest serve page requests (each session's position checks)
        client = aioredis.Redis.from_url(settings.redis_url, health_check_interval=10, max_connections=1024)
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
        keys, args = _append_args(job_id, event, self.settings.stream_ttl_s)
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

    async def _lost(self, job_id: str) -> Error | None:
        """The `worker_lost` error, written to the stream, when a started job's heartbeat lapsed."""
        if await self.redis.exists(key(job_id, "hb")):
            return None
        lost = Error(
            code="worker_lost",
            message="The worker running this answer stopped. Nothing was lost above; please retry.",
            retryable=True,
        )
        return lost if await self.append(job_id, lost) else None
