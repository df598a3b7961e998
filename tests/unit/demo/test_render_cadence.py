"""When a chat's page re-renders: its first token at once (as plain Gradio shows it), more text on the
render cadence, and a job that starts and streams at once in one update after the opening one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from demo.chat import ENDED, NOW, TICK, UnderWay, coalesce, fold
from demo.session import Turn
from worker.queue.protocol import AnswerDelta, Done, Event, Queued, Started

LONG_S = 60.0  # a cadence no test outlives: only NOW and ENDED can render


async def events_of(*events: Event) -> AsyncIterator[Event]:
    for event in events:
        yield event


def folded(*events: Event, cadence_s: float = LONG_S) -> tuple[list[str], Turn]:
    async def go() -> tuple[list[str], Turn]:
        turn = Turn("hi", job_id="j")
        return [change async for change in fold(turn, events_of(*events), lambda: cadence_s)], turn

    return asyncio.run(go())


def test_the_first_token_and_the_end_render_at_once_the_rest_on_the_cadence():
    stream = (Queued(position=0), Started(worker="w", backend="paced"), AnswerDelta(delta="a "),
              AnswerDelta(delta="b "), AnswerDelta(delta="c "), Done(finish_reason="stop"))  # fmt: skip
    changes, turn = folded(*stream)
    assert changes == [TICK, TICK, NOW, NOW]  # queued, started, the first token, the end
    assert turn.answer == "a b c " and "read" in turn.hops
    assert folded(*stream, cadence_s=0.0)[0] == [TICK, TICK, NOW, TICK, TICK, NOW]


def renders(moments: list[list[str]], sides: int, cadence_s: float = LONG_S) -> int:
    """How many page updates `coalesce` makes of `moments`: each a list of changes queued together."""

    async def go() -> int:
        queue: asyncio.Queue[str] = asyncio.Queue()

        async def produce() -> None:
            for changes in moments:
                for change in changes:
                    queue.put_nowait(change)
                await asyncio.sleep(0.01)

        producer = asyncio.create_task(produce())
        count = len([None async for _ in coalesce(queue, sides, lambda: cadence_s)])
        await producer
        return count

    return asyncio.run(go())


def test_a_job_that_starts_and_streams_at_once_shows_its_first_token_in_one_update():
    # published, queued, started: ticks that wait out the cadence; the first token carries them all.
    # The end is never coalesce's to render: the handler's closing update shows it.
    assert renders([[TICK], [TICK], [TICK], [NOW], [ENDED]], sides=1) == 1  # the token
    assert renders([[TICK], [TICK], [NOW], [TICK], [TICK], [NOW, ENDED]], sides=1) == 1
    # a one-token job: its token and its end read together leave it all to the closing update
    assert renders([[TICK], [NOW, NOW, ENDED]], sides=1) == 0


def test_one_side_ending_renders_at_once_while_the_other_streams():
    # A's token, A's end (B still streaming), B's token; B's end is the handler's closing update
    assert renders([[NOW], [NOW, ENDED], [NOW], [TICK], [NOW, ENDED]], sides=2) == 3


def test_ticks_alone_render_once_the_cadence_has_passed():
    async def go() -> tuple[list[float], float]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        queue.put_nowait(TICK)
        loop.call_later(0.3, queue.put_nowait, ENDED)
        t0, at = loop.time(), []
        async for _ in coalesce(queue, 1, lambda: 0.1):
            at.append(loop.time() - t0)
        return at, loop.time() - t0

    at, ended = asyncio.run(go())
    assert len(at) == 1 and 0.09 <= at[0] < 0.25 and ended >= 0.29  # the tick after one cadence; then the end


def test_a_stream_under_way_starts_before_it_is_iterated_and_closes_unread():
    async def go() -> None:
        started: list[int] = []
        closed: list[int] = []

        async def stream(n: int) -> AsyncGenerator[None, None]:
            try:
                started.append(n)  # admission, the job published: before the caller iterates
                yield None
                yield None
            finally:
                closed.append(n)

        runs = UnderWay(stream(1))
        await asyncio.sleep(0)  # the caller's own work: the opening update
        assert started == [1]
        assert [step async for step in runs] == [None, None]
        unread = UnderWay(stream(2))
        await asyncio.sleep(0)
        await unread.aclose()  # the page went away before the first render
        assert started == [1, 2] and closed == [1, 2]

    asyncio.run(go())
