"""The job protocol on a real Redis with a real Celery worker: order, one terminal, nothing lost."""

from __future__ import annotations

import asyncio

import torch

from swireasoning.decode import SamplingParams, generate
from worker.backends.local import LocalEngine
from worker.queue.client import JobClient
from worker.queue.protocol import TERMINAL, AnswerDelta, ChatMessage, Done, JobSpec, Reasoning, Sampling, parse_event
from worker.queue.stream import EventStream, key


def run_job(settings, spec: JobSpec, timeout_s: float = 300.0) -> list:
    async def go() -> list:
        client = JobClient.from_settings(settings)
        await client.submit(spec)
        events: list = []

        async def read() -> None:
            events.extend([e async for e in client.events(spec.id)])

        try:
            await asyncio.wait_for(read(), timeout_s)
        finally:
            await client.redis.aclose()
        return events

    return asyncio.run(go())


def spec(text: str, **sampling) -> JobSpec:
    return JobSpec(
        model="tiny-random",
        messages=[ChatMessage(role="user", content=text)],
        sampling=Sampling(seed=7, **sampling),
        reasoning=Reasoning(mode="thinking"),
    )


def test_events_arrive_in_order_with_exactly_one_terminal(settings, r, worker_proc):
    job = spec("Order, please.", max_tokens=48)
    events = run_job(settings, job)
    types = [e.type for e in events]
    assert types[0] == "queued" and types[1] == "started"
    assert types[-2:] == ["stats", "done"]
    assert sum(t in TERMINAL for t in types) == 1
    stored = [parse_event(f[b"e"]) for _, f in r.xrange(key(job.id, "events"))]
    assert stored == events, "the stream holds exactly what was read, nothing after the terminal event"
    assert 0 < r.ttl(key(job.id, "events")) <= settings.stream_ttl_s


def test_streamed_deltas_equal_the_full_decode(settings, worker_proc):
    job = spec("Tell me about Rio.", max_tokens=160, temperature=1.0, top_k=0, top_p=1.0)
    events = run_job(settings, job)
    streamed_thinking = "".join(e.delta for e in events if e.type == "reasoning")
    streamed_answer = "".join(e.delta for e in events if e.type == "answer")

    engine = LocalEngine.load(str(settings.tiny_model_path))
    batch = engine.encode([engine.render(job.messages, enable_thinking=True)], [[]])
    steps = generate(
        engine.model,
        batch,
        max_new_tokens=160,
        sampling=SamplingParams(1.0, 1.0, 0, 0.0),
        eos_ids=engine.eos_ids,
        generator=torch.Generator().manual_seed(7),
    )
    ids = [int(s.ids[0]) for s in steps]
    end = ids.index(engine.end_think_id) if engine.end_think_id in ids else len(ids)
    decode = engine.tokenizer.decode
    assert streamed_thinking == decode(ids[:end], skip_special_tokens=True)
    assert streamed_answer == decode(ids[end + 1 :], skip_special_tokens=True).lstrip("\n")
    assert streamed_thinking or streamed_answer


def test_nothing_is_appended_after_the_terminal_event(settings, r):
    stream = EventStream(r, "f" * 32, settings)
    assert stream.emit(AnswerDelta(delta="a"))
    assert stream.emit(Done(finish_reason="stop"))
    assert not stream.emit(AnswerDelta(delta="late"))
    assert [parse_event(f[b"e"]).type for _, f in r.xrange(key("f" * 32, "events"))] == ["answer", "done"]


def test_cancelling_a_queued_job_ends_it_at_once_and_it_never_runs(settings, r):
    job = JobSpec(model="rio-3.0-open-mini", messages=[ChatMessage(role="user", content="hi")])  # no worker

    async def go() -> list:
        client = JobClient.from_settings(settings)
        await client.submit(job)
        await client.cancel(job.id)
        events = [e async for e in client.events(job.id)]
        await client.redis.aclose()
        return events

    events = asyncio.run(go())
    assert [e.type for e in events] == ["queued", "done"]
    assert events[-1].finish_reason == "cancelled"
    assert not EventStream(r, job.id, settings).claim("late-worker"), "a worker that picks it up must skip it"


def test_a_job_queued_past_rio_queue_expiry_s_is_dropped_and_its_page_told(settings, worker_proc):
    """The web stamps RIO_QUEUE_EXPIRY_S on the message; the worker drops a job that waited longer
    and writes the one sentence the page shows instead of leaving it waiting forever."""
    impatient = settings.model_copy(update={"queue_expiry_s": 0.001})  # expired before any worker reads it
    job = spec("Too late.", max_tokens=8)
    events = run_job(impatient, job, timeout_s=60)
    assert [e.type for e in events] == ["queued", "error"], events
    assert events[-1].code == "queue_timeout" and events[-1].retryable
    assert events[-1].message == "The queue was too long and this request expired. Please retry."
