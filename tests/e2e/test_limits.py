"""Limits per client, queue positions with wait estimates, a full queue, and /metrics, on real parts."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import httpx
import pytest
import redis.asyncio as aioredis
from gradio_client import Client

from tests.support.helpers import chat, last_answer, value
from worker.errors import QueueFull
from worker.jobs import ChatMessage, JobClient, JobSpec, Sampling
from worker.limits.admission import Admission, job_ended, job_started, wait_estimate
from worker.models import queue_name
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


def scrape(port: int) -> dict[str, float]:
    """A /metrics page as {'name{labels}': value}."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return {k: float(v) for k, v in re.findall(r"^(\w+(?:\{[^}]*\})?) (\S+)$", text, re.M)}


def jobs_of(metrics: dict[str, float], model: str) -> float:
    return sum(v for k, v in metrics.items() if k.startswith(f'rio_jobs_total{{model="{model}"'))


def test_metrics_endpoints_count_jobs_ttft_streams_and_rejections(settings, web, strict_web, r):
    """Values, not names: a job counts once (deltas, whatever ran before), a stream counts while open."""
    client = Client(web, verbose=False)
    web_port, worker_port = settings.web_metrics_port, settings.worker_metrics_port
    before = scrape(worker_port)
    chat(client, "Count me.", max_tokens=8).result()
    after, web_after = scrape(worker_port), scrape(web_port)
    key = '{model="tiny-random"}'
    assert jobs_of(after, "tiny-random") - jobs_of(before, "tiny-random") == 1
    for name in ("rio_ttft_seconds_count", "rio_tokens_per_second_count"):
        assert after[name + key] - before.get(name + key, 0) == 1, name
    assert after["rio_tokens_per_second_sum" + key] > before.get("rio_tokens_per_second_sum" + key, 0)
    assert after['rio_module_loaded{module="torch"}'] == 1, "the tiny-random worker runs torch"
    assert web_after['rio_module_loaded{module="torch"}'] == 0
    used = int(r.info("memory")["used_memory"])
    assert 0.5 * used < web_after["rio_redis_used_memory_bytes"] < 2 * used
    assert web_after["rio_queue_depth" + key] == r.llen(queue_name("tiny-random")) == 0
    assert web_after["rio_active_streams"] == 0, "no stream open once the answer ended"
    job = chat(client, "Keep streaming.", model="paced", max_tokens=2000)
    while not (job.outputs() and last_answer(value(job.outputs()[-1][0])).answer):
        time.sleep(0.05)
    assert scrape(web_port)["rio_active_streams"] == 1, "the open stream counts while it runs"
    client.predict(api_name="/stop")
    job.result()
    client.predict(api_name="/new_chat")
    strict = scrape(STRICT_METRICS_PORT)
    assert strict.get('rio_rejected_total{code="rate_limited"}', 0) >= 1, "the limits tests were refused"
