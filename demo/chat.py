"""Chat handlers: widget values -> a job; job events -> chat messages, on a render cadence."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from pathlib import Path

import redis.exceptions

from demo import uploads
from demo.hops import HopLog, stamp
from demo.i18n import text
from demo.session import ChatSession, Params, Turn
from worker.jobs import (
    ACTIVE,
    REJECTED,
    BackendUnavailable,
    Error,
    Event,
    JobClient,
    ModelHealth,
    RioError,
    ServiceUnavailable,
    Snapshot,
    check_message,
    error_event,
    keyed_error,
)

log = logging.getLogger(__name__)
RENDER_EVERY_S = 0.05  # coalesce tokens: at most one page update per stream per 50 ms...
RENDER_MAX_S = 1.0  # ...stretched under load (see `ChatService.render_every_s`), never beyond this
Cadence = Callable[[], float]
# Workers publish a model's health every 10 s; a burst of chats needs one read of it, not one each.
HEALTH_FRESH_S = 1.0
# What a side's stream tells the page (`together`): it changed (render on the cadence), it changed in
# a way the visitor is waiting on (its first token: render at once, as plain Gradio shows it), it ended.
TICK, NOW, ENDED = "tick", "now", "ended"


def render_interval_s(streams: int, updates_per_s: int) -> float:
    """Seconds between one session's page updates when the process follows `streams` job streams:
    50 ms, stretched so all of them together stay within the process's update budget (below
    saturation); every stream keeps moving, each update carrying more tokens."""
    return min(RENDER_MAX_S, max(RENDER_EVERY_S, streams / updates_per_s))


REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
UNAVAILABLE = keyed_error("service_unavailable", "service_unavailable", retryable=True)
INTERNAL = keyed_error("internal", "internal", retryable=True)


class ChatService:
    """What the page does with jobs: add a turn, stream it, stop it. No Gradio in here."""

    def __init__(self, client: JobClient, upload_dir: Path) -> None:
        self.client = client
        self.upload_dir = upload_dir
        upload_dir.mkdir(parents=True, exist_ok=True)
        self.pruned_at = 0.0
        self.hops = HopLog(client, client.settings.hop_log)
        self._health: dict[str, tuple[float, asyncio.Future[ModelHealth | None]]] = {}  # see down_detail

    def render_every_s(self) -> float:
        return render_interval_s(self.client.hub.streams, self.client.settings.web_updates_per_s)

    async def new_turn(self, text: str, files: list[str], client_id: str | None = None) -> Turn:
        """Validate and store the user's input within the client's budgets; raises RioError with a
        message for the page."""
        check_message(text, [Path(f).stat().st_size for f in files], self.client.settings)
        turn = Turn(user_text=text.strip())
        for path in files:
            with redis_down_is_unavailable():
                ref, copies = await self.client.images.put(Path(path).read_bytes(), client=client_id)
            # the page shows the copy for people (up to 1280 px), named by the model copy's hash like its ref
            shown = self.upload_dir / f"{hashlib.sha256(copies.model).hexdigest()}.png"
            shown.write_bytes(copies.shown)
            turn.image_refs.append(ref)
            turn.image_paths.append(str(shown))
        self.prune_copies()
        stamp(turn, "stored")
        return turn

    def prune_copies(self) -> None:
        """At most once a minute: drop image copies on disk whose Redis keys have expired."""
        now = time.time()
        if now - self.pruned_at >= 60:
            self.pruned_at = now
            uploads.prune(self.upload_dir, self.client.settings.image_ttl_s, now)

    async def run(self, session: ChatSession, params: Params, client_id: str) -> AsyncIterator[str]:
        """Submit the last turn and fold its events in; yields whenever the page should re-render (TICK
        or NOW, see `fold`)."""
        turn = session.turns[-1]
        try:
            down = await self.down_detail(params.model)
            if down is not None:
                raise BackendUnavailable("model_down", detail=down)
            spec = session.spec_for_last(params, client_id, self.client.settings)
            session.params = params
            spec = await self.client.submit(spec)
            stamp(turn, "published")
        except RioError as exc:
            REJECTED.labels(exc.code).inc()
            turn.apply(error_event(exc))
            yield NOW
            return
        turn.job_id = spec.id
        yield TICK
        async for change in fold(turn, self.client.events(spec.id, queue=(spec.model, spec.ticket)),
                                 self.render_every_s):  # fmt: skip
            yield change

    async def run_sides(self, sides: list[tuple[ChatSession, Params]], client_id: str
                        ) -> AsyncGenerator[None, None]:  # fmt: skip
        """Run each side's last turn at once, within the client's limits; yields on a render cadence.
        A side that fails ends alone."""
        try:
            with redis_down_is_unavailable():
                slots = await self.client.admission.admit(client_id, len(sides))
        except RioError as exc:
            REJECTED.labels(exc.code).inc()
            for session, _ in sides:
                fail(session.turns[-1], error_event(exc))
            yield None
            return
        try:
            async for _ in together([(s, self.run(s, p, client_id)) for s, p in sides], self.render_every_s):
                yield None
        finally:
            with contextlib.suppress(*REDIS_DOWN):
                await self.client.admission.release(client_id, slots)

    def resume(self, sessions: list[ChatSession]) -> AsyncIterator[None]:
        """Follow every session whose last turn was still running when the page went away."""
        return together([(s, self.follow(s)) for s in sessions if s.turns and s.turns[-1].job_id], self.render_every_s)

    async def follow(self, session: ChatSession) -> AsyncIterator[str]:
        """Replay a running turn's events from the start and follow them to the end (page reloaded)."""
        turn = session.turns[-1]
        if turn.job_id is None:
            return
        fresh = turn.retry()
        fresh.job_id = turn.job_id
        session.turns[-1] = fresh
        async for change in fold(fresh, self.client.events(fresh.job_id), self.render_every_s):
            yield change

    async def share(self, snapshot: Snapshot, client_id: str | None = None) -> str:
        with redis_down_is_unavailable():
            return await self.client.shares.put(snapshot, client=client_id)

    async def open_share(self, share_id: str) -> Snapshot:
        """The snapshot, with its images written where the page can show them; raises RioError."""
        snapshot = await self.client.shares.get(share_id.strip())
        for ref in snapshot.image_refs():
            path = self.upload_dir / f"{ref.removeprefix('img:')}.png"
            if path.exists():
                path.touch()  # shown again: not to be pruned as expired
            else:
                path.write_bytes(await self.client.shares.shown_image(ref))
        self.prune_copies()
        return snapshot

    async def continue_share(self, snapshot: Snapshot) -> list[ChatSession]:
        """New editable sessions holding the snapshot's conversation (its images usable again)."""
        await self.client.shares.revive_images(snapshot)
        return [ChatSession.from_record(side, str(self.upload_dir)) for side in snapshot.sides]

    async def down_detail(self, model: str) -> str | None:
        """Why a remote model is down, as its workers last reported; None when up or unknown. Read
        from Redis at most once per HEALTH_FRESH_S, the requests of that moment sharing the read."""
        now = time.monotonic()
        at, read = self._health.get(model, (0.0, None))
        if read is None or now - at >= HEALTH_FRESH_S:
            read = asyncio.ensure_future(self.client.health(model))
            self._health[model] = (now, read)
        try:
            health = await asyncio.shield(read)  # one caller cancelled does not cancel the others' read
        except Exception:
            self._health.pop(model, None)
            raise
        return health.detail if health is not None and not health.up else None

    async def down_note(self, model: str, lang: str) -> str:
        down = await self.down_detail(model)
        return text("chat.down_note", lang, detail=down) if down is not None else ""

    async def stop(self, session: ChatSession) -> None:
        if session.running:
            await self.client.cancel(session.turns[-1].job_id or "")


async def together(streams: list[tuple[ChatSession, AsyncIterator[str]]], cadence: Cadence) -> AsyncIterator[None]:
    """Drive several sides' streams at once so none waits for another; yields on a render cadence."""
    changed: asyncio.Queue[str] = asyncio.Queue()  # TICK, NOW or ENDED

    async def pump(session: ChatSession, stream: AsyncIterator[str]) -> None:
        try:
            async for change in stream:
                changed.put_nowait(change)
        except REDIS_DOWN:
            log.warning("redis unavailable during job %s", session.turns[-1].job_id)
            fail(session.turns[-1], UNAVAILABLE)
        except Exception:
            log.exception("side failed: job %s", session.turns[-1].job_id)
            fail(session.turns[-1], INTERNAL)
        finally:
            changed.put_nowait(ENDED)

    tasks = [asyncio.create_task(pump(s, it)) for s, it in streams]
    try:
        async for _ in coalesce(changed, len(tasks), cadence):
            yield None
    finally:
        for task in tasks:
            task.cancel()


class UnderWay:
    """A render stream whose first step starts now, in a task: what it does before its first yield
    (admission, publishing the job) overlaps what the caller does before it iterates (the page's
    opening update). `aclose` ends both, iterated or not."""

    def __init__(self, stream: AsyncGenerator[None, None]) -> None:
        self.stream = stream
        self.first: asyncio.Future[None] = asyncio.ensure_future(anext(stream))

    async def __aiter__(self) -> AsyncIterator[None]:
        try:
            await self.first
        except StopAsyncIteration:
            return
        yield None
        async for step in self.stream:
            yield step

    async def aclose(self) -> None:
        self.first.cancel()
        await asyncio.gather(self.first, return_exceptions=True)  # the stream is free again, to be closed
        await self.stream.aclose()


async def fold(turn: Turn, events: AsyncIterator[Event], cadence: Cadence) -> AsyncIterator[str]:
    """Apply a job's events to its turn; yields when the page should re-render: NOW for the first
    token and the end, TICK for a change of state and, on the cadence, for more text."""
    last, read = 0.0, False
    with ACTIVE.track_inprogress():
        async for event in events:
            turn.apply(event)
            now = time.monotonic()
            first = event.type in ("reasoning", "answer") and not read
            if first:
                stamp(turn, "read")
                read = True
            if first or event.type in ("done", "error"):
                last = now
                yield NOW
            elif now - last >= cadence() or event.type in ("queued", "started"):
                last = now
                yield TICK


@contextlib.contextmanager
def redis_down_is_unavailable() -> Iterator[None]:
    """Redis unreachable before a job exists: the page's plain "service unavailable"."""
    try:
        yield
    except REDIS_DOWN as exc:
        raise ServiceUnavailable("service_unavailable") from exc


def fail(turn: Turn, error: Error) -> None:
    if turn.finish is None and turn.error is None:
        turn.error = error


async def coalesce(changed: asyncio.Queue[str], sides: int, cadence: Cadence) -> AsyncIterator[None]:
    """One yield per render tick while any side changed, and one at once for a NOW or a side's end.
    The changes queued in one moment render once (a first token read with its job's end is one
    update), and the last side's end not at all: every caller renders the end itself. The handler's
    opening update has just rendered, so the first tick waits its cadence: a job that starts and
    streams at once shows its first token in one update, not three."""
    pending, last = False, time.monotonic()
    while sides:
        wait = max(0.0, last + cadence() - time.monotonic()) if pending else None
        changes: list[str] = []
        try:
            async with asyncio.timeout(wait):  # no task per wait, unlike wait_for
                changes.append(await changed.get())
        except TimeoutError:
            pass
        while not changed.empty():
            changes.append(changed.get_nowait())
        pending = pending or bool(changes)
        sides -= changes.count(ENDED)
        if sides and (NOW in changes or ENDED in changes or time.monotonic() - last >= cadence()):
            pending, last = False, time.monotonic()
            yield None
