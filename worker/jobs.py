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

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import redis
import redis.asyncio as aioredis

from worker.images import ImageStore
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
    parse_event,
)
from worker.settings import Settings

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


def key(job_id: str, part: str) -> str:
    return f"job:{job_id}:{part}"


def queue_name(model: str) -> str:
    """One Celery queue per model, so the workers next to a GPU cluster take only their model's jobs."""
    return f"rio.{model}"


def _append_args(job_id: str, event: Event, ttl: int) -> tuple[list[str], list[str]]:
    terminal = "1" if event.type in TERMINAL else "0"
    payload = event.model_dump_json()
    return [key(job_id, "events"), key(job_id, "end")], [payload, terminal, str(STREAM_MAXLEN), str(ttl)]


class EventStream:
    """Worker side: appends a job's events; tells whether the web asked to cancel."""

    def __init__(self, client: redis.Redis, job_id: str, settings: Settings) -> None:
        self.redis = client
        self.job_id = job_id
        self.ttl = settings.stream_ttl_s
        self._append = client.register_script(APPEND_SCRIPT)
        self._cancel_checked = 0.0
        self._cancelled = False
        self.ended = False

    def emit(self, event: Event) -> bool:
        """Append one event; False (and `ended`) once the stream has a terminal event."""
        keys, args = _append_args(self.job_id, event, self.ttl)
        written = bool(self._append(keys=keys, args=args))
        if not written or event.type in TERMINAL:
            self.ended = True
        return written

    def claim(self, worker: str) -> bool:
        """True for the first claimant only: a redelivered job is never run a second time."""
        return bool(self.redis.set(key(self.job_id, "claim"), worker, nx=True, ex=self.ttl))

    def cancel_requested(self, every_s: float = 0.05) -> bool:
        """Polls the cancel key at most every `every_s`, so checking per token stays cheap."""
        now = time.monotonic()
        if not self._cancelled and now - self._cancel_checked >= every_s:
            self._cancel_checked = now
            self._cancelled = bool(self.redis.exists(key(self.job_id, "cancel")))
        return self._cancelled or self.ended

    def beat(self, ttl_s: float) -> None:
        self.redis.set(key(self.job_id, "hb"), "1", px=int(ttl_s * 1000))


Submit = Callable[[JobSpec], None]


class JobClient:
    """Web side: submit a job, follow its events (XREAD BLOCK), cancel it."""

    def __init__(self, client: aioredis.Redis, submit: Submit, settings: Settings) -> None:
        self.redis = client
        self.submit_task = submit
        self.settings = settings
        self.images = ImageStore(client, settings)
        self._append = client.register_script(APPEND_SCRIPT)

    @classmethod
    def from_settings(cls, settings: Settings) -> JobClient:
        from worker.celery_app import make_submitter

        client = aioredis.Redis.from_url(settings.redis_url, health_check_interval=10)
        return cls(client, make_submitter(settings), settings)

    async def submit(self, spec: JobSpec) -> None:
        """Announce the job's queue position, then enqueue it (Celery's client is sync: run it off-loop)."""
        ahead = await self.redis.llen(queue_name(spec.model))
        await self.append(spec.id, Queued(position=int(ahead)))
        await asyncio.to_thread(self.submit_task, spec)

    async def append(self, job_id: str, event: Event) -> bool:
        keys, args = _append_args(job_id, event, self.settings.stream_ttl_s)
        return bool(await self._append(keys=keys, args=args))

    async def cancel(self, job_id: str) -> None:
        """Ask the worker to stop; a job no worker has claimed yet is ended here, at once."""
        await self.redis.set(key(job_id, "cancel"), "1", ex=self.settings.stream_ttl_s)
        if await self.redis.set(key(job_id, "claim"), "cancelled", nx=True, ex=self.settings.stream_ttl_s):
            await self.append(job_id, Done(finish_reason="cancelled"))

    async def events(self, job_id: str, after: str = "0-0") -> AsyncIterator[Event]:
        """Every event of the job from `after` on, ending with its one terminal event.

        A started job whose heartbeat lapses ends with a `worker_lost` error, written to the stream
        too, so a reload replays the same ending."""
        stream = key(job_id, "events")
        started = False
        while True:
            reply: Any = await self.redis.xread({stream: after}, block=500, count=512)
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    after = entry_id
                    event = parse_event(fields[b"e"])
                    started = started or event.type == "started"
                    yield event
                    if event.type in TERMINAL:
                        return
            if not reply and started and not await self.redis.exists(key(job_id, "hb")):
                lost = Error(
                    code="worker_lost",
                    message="The worker running this answer stopped. Nothing was lost above; please retry.",
                    retryable=True,
                )
                if await self.append(job_id, lost):
                    yield lost
                    return


# The web's one door into worker/: the registry view it renders and the settings it runs with.
from worker.errors import RioError  # noqa: E402,F401
from worker.models import ModelEntry, available, default_pair  # noqa: E402,F401
