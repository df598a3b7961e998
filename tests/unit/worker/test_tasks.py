"""The worker's `generate` task run in this process (the paced backend and the tiny model) on a Redis of
its own: RIO_JOB_TIMEOUT_S ends a job, a redelivered job is reported lost instead of run a second time,
RIO_LOCAL_MAX_LEN caps the local engine's context."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

from worker.ops import redis_server
from worker.ops.devstack import free_port, stop
from worker.ops.settings import Settings
from worker.queue import tasks
from worker.queue.protocol import ChatMessage, JobSpec, Reasoning, Sampling, Started, parse_event
from worker.queue.stream import EventStream, key

CACHED = (tasks.settings, tasks.redis_client, tasks.keeper, tasks.backend)


@pytest.fixture(scope="module")
def here(tmp_path_factory, tiny_model) -> Iterator[Settings]:
    """This process as a worker (the task module reads its settings from its Celery app)."""
    s = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", var_dir=tmp_path_factory.mktemp("var"),
                 paced_model=True, tiny_model_path=tiny_model, local_max_len=64,
                 local_batch=2, local_compile=False)  # fmt: skip
    proc = redis_server.start(s)
    previous = tasks.app.settings
    tasks.app.settings = s
    for cached in CACHED:
        cached.cache_clear()
    yield s
    tasks.app.settings = previous
    for cached in CACHED:
        cached.cache_clear()
    stop(proc)


@contextmanager
def job_timeout(seconds: float) -> Iterator[None]:
    """RIO_JOB_TIMEOUT_S set to `seconds` on this process's worker for a while."""
    before = tasks.app.settings
    tasks.app.settings = before.model_copy(update={"job_timeout_s": seconds})
    tasks.settings.cache_clear()
    try:
        yield
    finally:
        tasks.app.settings = before
        tasks.settings.cache_clear()


def paced_job(max_tokens: int) -> JobSpec:
    return JobSpec(model="paced", messages=[ChatMessage(role="user", content="Go on.")],
                   sampling=Sampling(max_tokens=max_tokens))  # fmt: skip


def events_of(settings: Settings, job_id: str) -> list:
    r = redis.Redis.from_url(settings.redis_url)
    return [parse_event(fields[b"e"]) for _, fields in r.xrange(key(job_id, "events"))]


def test_a_job_ends_at_rio_job_timeout_s(here):
    spec = paced_job(5000)  # 50 s at the paced backend's 10 ms a token
    with job_timeout(1.0):
        t0 = time.monotonic()
        tasks.run_job(spec.model_dump_json())
        took = time.monotonic() - t0
    events = events_of(here, spec.id)
    assert events[-1].type == "done" and events[-1].finish_reason == "length", events[-1]
    assert 1.0 <= took < 3.0, took
    words = " ".join(e.delta for e in events if e.type in ("reasoning", "answer")).split()
    assert 10 <= len(words) < 500, "it ran until the timeout, not to its 5000 tokens"


def test_a_redelivered_job_is_reported_lost_and_never_run_again(here):
    spec = paced_job(20)
    dead = EventStream(redis.Redis.from_url(here.redis_url), spec.id, here)
    assert dead.claim("killed-worker")  # what a worker killed mid-answer leaves: its claim, a started stream
    dead.emit(Started(worker="killed-worker", backend="paced"))
    tasks.run_job(spec.model_dump_json())  # Celery hands the unacknowledged message to another worker
    events = events_of(here, spec.id)
    assert [e.type for e in events] == ["started", "error"], "no second start, no second answer"
    assert events[-1].code == "worker_lost" and events[-1].retryable


def test_rio_local_max_len_caps_the_local_context_and_refuses_a_longer_conversation(here):
    long = JobSpec(model="tiny-random", messages=[ChatMessage(role="user", content="Rio " * 100)])
    tasks.run_job(long.model_dump_json())
    events = events_of(here, long.id)
    assert [e.type for e in events] == ["started", "error"] and events[-1].code == "prompt_too_long"
    assert re.fullmatch(r"The conversation is \d+ tokens; this model takes 64\.", events[-1].message), events[-1]
    short = JobSpec(model="tiny-random", messages=[ChatMessage(role="user", content="Hi.")],
                    sampling=Sampling(max_tokens=1000, seed=3), reasoning=Reasoning(mode="off"))  # fmt: skip
    tasks.run_job(short.model_dump_json())
    stats = next(e for e in events_of(here, short.id) if e.type == "stats")
    assert stats.prompt_tokens + stats.completion_tokens <= 64, "a row of the cache holds the whole conversation"


def test_every_job_thread_of_a_large_worker_gets_a_redis_connection(here, monkeypatch):
    # redis-py 8 caps a pool at 100 connections unless told: 150 job threads each in a blocking call
    threads = 150
    monkeypatch.setenv("RIO_WORKER_CONCURRENCY", str(threads))
    tasks.redis_client.cache_clear()
    client = tasks.redis_client()
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def job_thread() -> None:
        start.wait()
        try:
            client.blpop(["nothing:here"], timeout=1)  # holds its connection for the whole second
        except BaseException as exc:  # whatever a thread meets is the test's finding
            errors.append(exc)

    pool = [threading.Thread(target=job_thread) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    tasks.redis_client.cache_clear()
    assert errors == []
