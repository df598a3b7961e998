"""The job's event stream in Redis, worker side: `EventStream` appends a job's events and
`StreamKeeper` keeps every running stream of the process (coalesced deltas, cancel polls, heartbeats).

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
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from worker.errors import WorkerLost
from worker.limits.admission import job_claimed
from worker.ops.settings import Settings
from worker.queue.protocol import TERMINAL, AnswerDelta, Done, Error, Event, ReasoningDelta, error_event

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


def key(job_id: str, part: str) -> str:
    return f"job:{job_id}:{part}"


def append_args(job_id: str, event: Event, ttl: int) -> tuple[list[str], list[str]]:
    terminal = "1" if event.type in TERMINAL else "0"
    payload = event.model_dump_json()
    return [key(job_id, "events"), key(job_id, "end")], [payload, terminal, str(STREAM_MAXLEN), str(ttl)]


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

    def __init__(
        self, client: redis.Redis, job_id: str, settings: Settings, keeper: StreamKeeper | None = None
    ) -> None:
        self.redis = client
        self.keeper = keeper
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
        open_streams = self.keeper.open_streams if self.keeper is not None else 1
        return min(self.WINDOW_MAX_S, self.WINDOW_PER_STREAM_S * open_streams)

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
        keys, args = append_args(self.job_id, event, self.ttl)
        written = bool(self._append(keys=keys, args=args))
        if written and isinstance(event, Done | Error):
            self.outcome = event.finish_reason if isinstance(event, Done) else event.code
        if not written or event.type in TERMINAL:
            self.ended = True
        return written

    def claim(self, worker: str, model: str = "", ticket: int = 0) -> bool:
        """True for the first claimant only: a redelivered job is never run a second time. Its queue
        ticket, if any, stops waiting in the same round trip (`admission.job_claimed`)."""
        return job_claimed(self.redis, model, ticket, key(self.job_id, "claim"), worker, self.ttl)

    def report_lost(self) -> bool:
        """End the stream with the one `worker_lost` error (a redelivered job, a lapsed heartbeat)."""
        return self.emit(error_event(worker_lost()))


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

    @property
    def open_streams(self) -> int:
        """Streams this process is writing; the coalescing window grows with it."""
        return len(self._streams)

    @contextmanager
    def keep(self, stream: EventStream) -> Iterator[None]:
        self.redis.set(key(stream.job_id, "hb"), "1", px=self.beat_ttl_ms)
        with self._lock:
            self._streams[stream.job_id] = stream
        try:
            yield
        finally:
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
                # Held until written, so no later event overtakes this one. A stream whose own thread
                # is writing now keeps its delta for the next tick: waiting on each such lock, behind
                # hundreds of job threads taking turns with the GIL, made one tick of 190 streams take
                # 3-4 s and lapse their heartbeats (the pages said "worker stopped", bench.web at 512).
                if not stream.lock.acquire(blocking=False):
                    continue
                event = stream.take_due()
                if event is None:
                    stream.lock.release()
                    continue
                due.append((stream, event))
                keys, args = append_args(stream.job_id, event, stream.ttl)
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


def worker_lost() -> WorkerLost:
    """The one sentence for a job whose worker stopped: it is never re-run, so the page says to retry."""
    return WorkerLost("worker_lost", retryable=True)
