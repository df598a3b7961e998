"""Limits per client, queue positions with wait estimates, a full queue, and /metrics, on real parts."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
import redis.asyncio as aioredis
from gradio_client import Client

from demo.visitor import client_id
from tests.support.helpers import chat, last_answer, value
from worker.errors import QueueFull
from worker.jobs import ChatMessage, JobClient, JobSpec, Sampling
from worker.limits.admission import Admission, job_ended, job_started, wait_estimate
from worker.ops.devstack import free_port, start_web, stop

STRICT_METRICS_PORT = free_port()


@pytest.fixture(scope="module")
def strict_web(settings, redis_proc, worker_proc, sglang_worker) -> Iterator[str]:
    """A second web process on the same Redis and workers, with small limits."""
    s = settings.model_copy(update={"web_port": free_port(), "web_metrics_port": STRICT_METRICS_PORT,
                                    "requests_per_minute": 3, "jobs_per_client": 2})  # fmt: skip
    proc, url = start_web(s)
    yield url
    stop(proc)


def as_client(url: str, ip: str) -> Client:
    return Client(url, verbose=False, headers={"X-Forwarded-For": ip})


def test_requests_per_minute_are_limited_per_client_with_the_time_to_wait(strict_web):
    client = as_client(strict_web, "10.1.0.1")
    for _ in range(3):
        assert "5 tokens" in last_answer(chat(client, "Hi", model="paced", max_tokens=5).result()[0]).footer
    refused = last_answer(chat(client, "Hi", model="paced", max_tokens=5).result()[0]).footer
    match = re.search(r"Too many requests: the limit is 3 per minute. Try again in (\d+) s.", refused)
    assert match and 1 <= int(match.group(1)) <= 61, refused
    other = as_client(strict_web, "10.1.0.99")  # another client is not held back
    assert "5 tokens" in last_answer(chat(other, "Hi", model="paced", max_tokens=5).result()[0]).footer


def test_running_jobs_are_limited_per_client_and_freed_when_they_end(strict_web):
    client = as_client(strict_web, "10.1.0.2")
    helper = as_client(strict_web, "10.1.0.2")  # a second tab of the same person
    long = chat(client, "Long", model="paced", reasoning="off", max_tokens=1500)
    for out in long:
        if last_answer(out[0]).answer:
            break
    second = last_answer(chat(helper, "Also", model="paced", max_tokens=5).result()[0]).footer
    assert "5 tokens" in second, "two running jobs are allowed"
    helper2 = as_client(strict_web, "10.1.0.2")
    sides = {"model_a": "paced", "reasoning_a": "off", "model_b": "paced", "reasoning_b": "off", "max_tokens": 5}
    compare = helper2.submit({"text": "Two more", "files": []}, **sides, api_name="/compare").result()
    assert "You already have 1 answer running (limit 2)" in last_answer(value(compare[0])).footer
    client.predict(api_name="/stop")
    long.result()
    again = helper2.submit({"text": "Now", "files": []}, **sides, api_name="/compare").result()
    assert all("5 tokens" in last_answer(value(side)).footer for side in again[:2])


def test_forwarded_for_is_believed_only_from_a_configured_proxy():
    def request(peer: str, forwarded: str = "", user: str | None = None):
        return SimpleNamespace(client=SimpleNamespace(host=peer), headers={"x-forwarded-for": forwarded},
                               username=user)  # fmt: skip

    assert client_id(request("10.0.0.5", "1.2.3.4"), "127.0.0.1") == "ip:10.0.0.5"
    assert client_id(request("127.0.0.1", "1.2.3.4, 127.0.0.1"), "127.0.0.1") == "ip:1.2.3.4"
    assert client_id(request("10.0.0.5", "1.2.3.4"), "") == "ip:10.0.0.5", "no proxy configured: header ignored"
    assert client_id(request("127.0.0.1", "1.2.3.4", user="ana"), "127.0.0.1") == "user:ana"


def test_a_queued_job_sees_its_position_fall_with_a_wait_estimate(settings, worker_proc):
    """More jobs than the engine's rows: the last one waits, and its position falls by one each time a
    running job is stopped (spaced wider than the position poll), whatever the tiny model writes."""
    rows = settings.local_batch

    async def go() -> list:
        client = JobClient.from_settings(settings)
        specs = [JobSpec(model="tiny-random", messages=[ChatMessage(role="user", content=f"q{i}")],
                         sampling=Sampling(max_tokens=2000, seed=i), reasoning={"mode": "off"})
                 for i in range(2 * rows)]  # fmt: skip
        sent = [await client.submit(s) for s in specs]
        last = sent[-1]

        async def watch() -> list:
            return [e async for e in client.events(last.id, queue=(last.model, last.ticket)) if e.type == "queued"]

        watcher = asyncio.create_task(watch())
        for s in sent[:-1]:
            await asyncio.sleep(1.0)
            await client.cancel(s.id)
        await client.cancel(last.id)
        seen = await watcher
        await client.redis.aclose()
        return seen

    seen = asyncio.run(go())
    positions = [e.position for e in seen]
    assert positions[0] >= settings.local_batch - 1 and positions == sorted(positions, reverse=True), positions
    between = [e for e in seen[1:] if 0 < e.position < positions[0]]
    assert between, f"the position is updated while waiting: {positions}"
    assert all(e.wait_s and e.wait_s > 0 for e in between), "with an estimate from the jobs that finished"


def test_a_full_queue_answers_busy_with_a_time_and_estimates_follow_recent_jobs(settings, redis_proc):
    import redis as sync_redis

    sync = sync_redis.Redis.from_url(settings.redis_url)
    now = time.time()
    for _ in range(10):
        job_ended(sync, "q-test", 2.0)
    assert wait_estimate(5, [f"{now - 10 + i}:2.0".encode() for i in range(10)], now) == pytest.approx(5.0)
    assert wait_estimate(3, [b"%f:4.0" % now], now) == pytest.approx(12.0)
    assert wait_estimate(3, [], now) is None

    async def go() -> str:
        client = aioredis.Redis.from_url(settings.redis_url)
        admission = Admission(client, settings.model_copy(update={"max_queue": 3}))
        for _ in range(3):
            await admission.ticket("q-test")
        with pytest.raises(QueueFull) as full:
            await admission.ticket("q-test")
        await client.aclose()
        return full.value.message

    message = asyncio.run(go())
    assert re.fullmatch(r"This model is busy \(3 requests waiting\)\. Please try again in \d+ s\.", message)
    job_started(sync, "q-test", 10**6)  # the queue drained


def test_metrics_endpoints_count_jobs_ttft_streams_and_rejections(settings, web, strict_web):
    client = Client(web, verbose=False)
    chat(client, "Count me.", max_tokens=8).result()
    client.predict(api_name="/new_chat")
    web_text = httpx.get(f"http://127.0.0.1:{settings.web_metrics_port}/metrics").text
    assert "rio_active_streams" in web_text and 'rio_queue_depth{model="tiny-random"}' in web_text
    worker_text = httpx.get(f"http://127.0.0.1:{settings.worker_metrics_port}/metrics").text
    jobs = re.search(r'rio_jobs_total\{model="tiny-random",outcome="(stop|length)"\} (\d+)', worker_text)
    assert jobs and float(jobs.group(2)) >= 1
    assert re.search(r'rio_ttft_seconds_count\{model="tiny-random"\} [1-9]', worker_text)
    strict = httpx.get(f"http://127.0.0.1:{STRICT_METRICS_PORT}/metrics").text
    assert re.search(r'rio_rejected_total\{code="rate_limited"\} [1-9]', strict), "the limits tests were refused"
