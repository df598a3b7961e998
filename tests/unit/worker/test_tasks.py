"""The worker's `generate` task run in this process (the paced backend, no model) on a Redis of its own:
RIO_JOB_TIMEOUT_S ends a job, and a redelivered job is reported lost instead of run a second time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from worker.ops import redis_server
from worker.ops.devstack import free_port, stop
from worker.ops.settings import Settings
from worker.queue import tasks
from worker.queue.protocol import ChatMessage, JobSpec, Sampling, Started, parse_event
from worker.queue.stream import EventStream, key

CACHED = (tasks.settings, tasks.redis_client, tasks.keeper, tasks.backend)


@pytest.fixture(scope="module")
def here(tmp_path_factory) -> Iterator[Settings]:
    """This process as a worker (the task module reads its settings from its Celery app)."""
    s = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", var_dir=tmp_path_factory.mktemp("var"),
                 paced_model=True, job_timeout_s=1.0)  # fmt: skip
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


def paced_job(max_tokens: int) -> JobSpec:
    return JobSpec(model="paced", messages=[ChatMessage(role="user", content="Go on.")],
                   sampling=Sampling(max_tokens=max_tokens))  # fmt: skip


def events_of(settings: Settings, job_id: str) -> list:
    r = redis.Redis.from_url(settings.redis_url)
    return [parse_event(fields[b"e"]) for _, fields in r.xrange(key(job_id, "events"))]


def test_a_job_ends_at_rio_job_timeout_s(here):
    spec = paced_job(5000)  # 50 s at the paced backend's 10 ms a token
    t0 = time.monotonic()
    tasks.run_job(spec.model_dump_json())
    took = time.monotonic() - t0
    events = events_of(here, spec.id)
    assert events[-1].type == "done" and events[-1].finish_reason == "length", events[-1]
    assert here.job_timeout_s <= took < here.job_timeout_s + 2.0, took
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
