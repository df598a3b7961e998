"""The web's stream hub on a real Redis of its own: one multiplexed XREAD for many sessions, streams
that end or fail, a session that leaves mid-stream, Redis restarting underneath; and the Celery
message the web now builds itself, checked against Celery's own `send_task`."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
from collections.abc import Iterator

import pytest
import redis

from worker.ops import redis_server
from worker.ops.devstack import free_port, stop
from worker.ops.settings import Settings
from worker.queue.celery_app import TASK_NAME, make_app, make_publisher
from worker.queue.client import JobClient
from worker.queue.protocol import AnswerDelta, ChatMessage, Done, Error, JobSpec, Started


@pytest.fixture(scope="module")
def own(tmp_path_factory) -> Iterator[dict]:
    """A Redis server only these tests use (one of them kills and restarts it)."""
    s = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", var_dir=tmp_path_factory.mktemp("hub"))
    box = {"settings": s, "redis": redis_server.start(s)}
    yield box
    stop(box["redis"])


def client_for(s: Settings) -> JobClient:
    return JobClient.from_settings(s)


async def collect(client: JobClient, job_id: str) -> list:
    return [e async for e in client.events(job_id)]


def test_many_sessions_follow_their_streams_to_the_end_over_one_connection(own):
    async def go() -> None:
        client = client_for(own["settings"])
        jobs = [f"ends{i}" for i in range(40)]
        readers = [asyncio.create_task(collect(client, j)) for j in jobs]
        await asyncio.sleep(0.2)
        assert client.hub.streams == 40
        # the 40 waiting readers share the hub's one blocking read, not a connection each
        assert (await client.redis.info("clients"))["connected_clients"] <= 4
        for j in jobs:
            for event in (Started(worker="w", backend="paced"), AnswerDelta(delta="a "), AnswerDelta(delta="b ")):
                await client.append(j, event)
        ended = await client.append(jobs[0], Done(finish_reason="stop"))
        failed = await client.append(jobs[1], Error(code="backend_error", message="It broke.", retryable=True))
        for j in jobs[2:]:
            await client.append(j, Done(finish_reason="length"))
        results = await asyncio.wait_for(asyncio.gather(*readers), 10)
        assert ended and failed
        assert [e.type for e in results[0]] == ["started", "answer", "answer", "done"]
        assert results[1][-1] == Error(code="backend_error", message="It broke.", retryable=True)
        assert all("".join(e.delta for e in r if e.type == "answer") == "a b " for r in results)
        assert client.hub.streams == 0
        await client.redis.aclose()

    asyncio.run(go())


def test_a_session_that_leaves_mid_stream_is_no_longer_read(own):
    async def go() -> None:
        client = client_for(own["settings"])
        await client.append("left", Started(worker="w", backend="paced"))
        await client.append("stays", Started(worker="w", backend="paced"))
        stays = asyncio.create_task(collect(client, "stays"))
        leaving = client.events("left")
        assert (await anext(leaving)).type == "started"
        assert client.hub.following("left")
        await leaving.aclose()  # the page went away
        assert not client.hub.following("left") and client.hub.following("stays")
        await client.append("left", AnswerDelta(delta="unread "))
        await client.append("stays", Done(finish_reason="stop"))
        assert [e.type for e in await asyncio.wait_for(stays, 5)] == ["started", "done"]
        assert client.hub.streams == 0
        await client.redis.aclose()

    asyncio.run(go())


def test_redis_restarting_under_the_hub_fails_its_followers_then_serves_new_ones(own):
    s = own["settings"]

    async def go() -> None:
        client = client_for(s)
        await client.append("before", Started(worker="w", backend="paced"))
        waiting = asyncio.create_task(collect(client, "before"))
        await asyncio.sleep(0.3)
        own["redis"].send_signal(signal.SIGKILL)
        own["redis"].wait()
        with pytest.raises(redis.exceptions.ConnectionError):
            await asyncio.wait_for(waiting, 5)
        own["redis"] = redis_server.start(s)
        await asyncio.sleep(1.0)  # the hub retries every 0.5 s meanwhile
        after = asyncio.create_task(collect(client, "after"))
        await client.append("after", Started(worker="w", backend="paced"))
        await client.append("after", Done(finish_reason="stop"))
        assert [e.type for e in await asyncio.wait_for(after, 5)] == ["started", "done"]
        await client.redis.aclose()

    asyncio.run(go())


def test_the_web_builds_the_same_celery_message_as_send_task(own):
    """Celery reads what the web pushes: the envelope matches a real `send_task`, ids aside."""
    s = own["settings"]
    r = redis.Redis.from_url(s.redis_url)
    spec = JobSpec(model="paced", messages=[ChatMessage(role="user", content="hi")])
    make_app(s, include_tasks=False).send_task(TASK_NAME, args=[spec.model_dump_json()], queue="rio.paced",
                                               expires=s.queue_expiry_s)  # fmt: skip
    theirs = json.loads(r.rpop("rio.paced"))
    queue, raw = make_publisher(s)(spec)
    ours = json.loads(raw)
    assert queue == "rio.paced"
    for message in (theirs, ours):
        message["body"] = json.loads(base64.b64decode(message["body"]))
        for part, fields in (("headers", ("id", "root_id", "expires", "origin")),
                             ("properties", ("correlation_id", "reply_to", "delivery_tag"))):  # fmt: skip
            for f in fields:
                assert message[part].pop(f), f
    assert ours["headers"] == theirs["headers"]
    assert ours == theirs
