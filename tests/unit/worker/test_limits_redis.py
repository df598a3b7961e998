"""Admission and budgets on a real Redis of their own (no web, no worker): each limit at its bound, its
exact sentence, the refusal counted in `rio_budget_refusals_total{budget}`, and Redis's own maxmemory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import redis
import redis.asyncio as aioredis

from demo.visitor import client_id
from worker.errors import OverBudget, QueueFull, RateLimited, StoreFull
from worker.limits.admission import Admission, job_ended, job_started, wait_estimate
from worker.limits.budgets import Budgets, wait_of
from worker.ops import redis_server
from worker.ops.devstack import free_port, stop
from worker.ops.metrics import REGISTRY
from worker.ops.settings import Settings
from worker.sentences import english, plural_key


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Iterator[Settings]:
    s = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", var_dir=tmp_path_factory.mktemp("var"),
                 requests_per_minute=3, jobs_per_client=2, user_requests_per_minute=5, user_jobs=3,
                 image_mb_per_hour=1, shares_per_hour=2, max_queue=2)  # fmt: skip
    proc = redis_server.start(s)
    yield s
    stop(proc)


def run(settings: Settings, work):
    """`work(client)` on a fresh asyncio client of this Redis (a new database state each test)."""

    async def go():
        client = aioredis.Redis.from_url(settings.redis_url)
        try:
            return await work(client)
        finally:
            await client.aclose()

    return asyncio.run(go())


def refusals(budget: str) -> float:
    return REGISTRY.get_sample_value("rio_budget_refusals_total", {"budget": budget}) or 0.0


@pytest.fixture()
def settings(base) -> Settings:
    redis.Redis.from_url(base.redis_url).flushall()
    return base


def test_requests_per_minute_then_running_jobs_each_with_its_sentence(settings):
    async def work(client):
        adm = Admission(client, settings)
        slots = [await adm.admit("ip:1", 1), await adm.admit("ip:1", 1)]
        with pytest.raises(RateLimited) as running:
            await adm.admit("ip:1", 1)  # the third request of the minute, but two jobs run
        await adm.release("ip:1", slots[0])
        third = await adm.admit("ip:1", 1)
        with pytest.raises(RateLimited) as per_minute:
            await adm.admit("ip:1", 1)
        other = await adm.admit("ip:2", 2)  # another client is not affected
        return running.value.message, per_minute.value.message, third, other

    running, per_minute, third, other = run(settings, work)
    assert running == "You already have 2 answers running (limit 2). Wait for one to finish or stop it, then try again."
    assert per_minute.startswith("Too many requests: the limit is 3 per minute. Try again in ")
    assert 1 <= int(per_minute.rsplit(" ", 2)[1]) <= 61
    assert len(third) == 1 and len(other) == 2


def test_one_signed_in_user_from_two_addresses_shares_one_quota(settings):
    def request(ip: str):
        return SimpleNamespace(username="ana", client=SimpleNamespace(host=ip), headers={}, session={})

    ids = {client_id(request("10.0.0.1")), client_id(request("10.0.0.2"))}
    assert ids == {"user:ana"}

    async def work(client):
        adm = Admission(client, settings)
        for _ in range(5):  # the user's quota (5 a minute), spent from both addresses alike
            await adm.release("user:ana", await adm.admit(ids.pop() if ids else "user:ana", 1))
        with pytest.raises(RateLimited) as exc:
            await adm.admit("user:ana", 1)
        return exc.value.message

    assert "the limit is 5 per minute" in run(settings, work)


def test_tickets_positions_and_a_full_queue(settings):
    async def work(client):
        adm = Admission(client, settings)
        first, second = await adm.ticket("m"), await adm.ticket("m")
        with pytest.raises(QueueFull) as full:
            await adm.ticket("m")
        job_started(redis.Redis.from_url(settings.redis_url), "m", first[0])
        return first, second, await adm.position("m", second[0]), full.value.message

    first, second, moved, message = run(settings, work)
    assert (first[:2], second[:2], moved[0]) == ((1, 0), (2, 1), 0)
    assert message == "This model is busy (2 requests waiting). Please try again in 30 s."


def test_wait_estimates_follow_recent_jobs(settings):
    sync = redis.Redis.from_url(settings.redis_url)
    job_ended(sync, "m", 2.0)
    assert len(sync.lrange("queue:m:ends", 0, -1)) == 1
    assert wait_estimate(5, [f"{100 - 10 + i}:2.0".encode() for i in range(10)], 100) == pytest.approx(5.0)
    # the finish rate over the window: 10 jobs in the last 20 s, so 5 jobs ahead wait 10 s
    assert wait_estimate(5, [f"{80 + 2 * i}:2.0".encode() for i in range(10)], 100) == pytest.approx(10.0)
    assert wait_estimate(4, [b"90:1.0", b"95:1.0"], 100) == pytest.approx(20.0), "two jobs are a rate"
    assert wait_estimate(1, [b"99.5:1.0", b"99.75:1.0"], 100) == pytest.approx(0.25), "so is a half-second span"
    # one job, even long ago, is not a rate; nor are jobs that ended this instant: mean duration per job ahead
    assert wait_estimate(3, [b"100:4.0"], 100) == pytest.approx(12.0)
    assert wait_estimate(3, [b"90:4.0"], 100) == pytest.approx(12.0)
    assert wait_estimate(3, [b"100:4.0", b"100:2.0"], 100) == pytest.approx(9.0)
    assert wait_estimate(3, [], 100) is None


def test_positions_and_waits_come_from_the_served_ticket_and_every_recent_job(settings):
    sync = redis.Redis.from_url(settings.redis_url)
    now = time.time()
    for ago in (40, 10, 6, 2):  # as workers push them, newest first: 4 jobs in 40 s, one every 10 s
        sync.lpush("queue:m:ends", f"{now - ago:.3f}:1.0")

    async def work(client):
        adm = Admission(client, settings)  # at most 2 waiting
        first = await adm.ticket("m")
        job_started(sync, "m", first[0])  # the first has started: the next two wait behind nothing, then one
        second, third = await adm.ticket("m"), await adm.ticket("m")
        return first, second, third, await adm.position("m", third[0])

    first, second, third, position = run(settings, work)
    assert (first[:2], second[:2], third[:2], position[0]) == ((1, 0), (2, 0), (3, 1), 1)
    assert third[2] == pytest.approx(10.0, rel=0.02) and position[1] == pytest.approx(10.0, rel=0.02)


def test_one_waiting_and_one_running_are_said_in_the_singular(settings):
    one = settings.model_copy(update={"max_queue": 1, "jobs_per_client": 1})

    async def work(client):
        adm = Admission(client, one)
        await adm.ticket("m")
        with pytest.raises(QueueFull) as full:
            await adm.ticket("m")
        await adm.admit("ip:1", 1)
        with pytest.raises(RateLimited) as running:
            await adm.admit("ip:1", 1)
        return full.value.message, running.value.message

    full, running = run(one, work)
    assert full == "This model is busy (1 request waiting). Please try again in 30 s."
    assert running == "You already have 1 answer running (limit 1). Wait for one to finish or stop it, then try again."


def test_the_minute_window_is_its_documented_key_and_a_wait_is_at_least_a_second(settings):
    sync = redis.Redis.from_url(settings.redis_url)
    minute = int(time.time() // 60)

    async def work(client):
        adm = Admission(client, settings)  # 3 a minute
        await adm.release("ip:3", await adm.admit("ip:3", 1))
        for m in (minute, minute + 1):  # a window at its limit whose expiry is lost (TTL -1), either minute
            sync.set(f"limit:ip:4:m:{m}", 3)
        with pytest.raises(RateLimited) as refused:
            await adm.admit("ip:4", 1)
        return refused.value.message

    message = run(settings, work)
    counted = [k for k in sync.keys("limit:ip:3:m:*")]
    assert counted in ([f"limit:ip:3:m:{minute}".encode()], [f"limit:ip:3:m:{minute + 1}".encode()])
    assert int(sync.get(counted[0])) == 1 and 60 <= sync.ttl(counted[0]) <= 61
    assert message == "Too many requests: the limit is 3 per minute. Try again in 1 s."


def test_workers_keep_the_last_hundred_job_ends(settings):
    sync = redis.Redis.from_url(settings.redis_url)
    for duration in range(105):
        job_ended(sync, "m", float(duration))
    ends = sync.lrange("queue:m:ends", 0, -1)
    assert len(ends) == 100 and ends[0].endswith(b":104.000") and ends[-1].endswith(b":5.000")


def test_image_bytes_and_shares_per_client_hour_are_refused_and_counted(settings):
    async def work(client):
        budgets = Budgets(client, settings)
        await budgets.charge_images("ip:1", 2**20)  # exactly the 1 MB
        before = refusals("client_image_bytes"), refusals("client_shares")
        with pytest.raises(OverBudget) as images:
            await budgets.charge_images("ip:1", 1)
        await budgets.charge_images("ip:2", 2**20)
        await budgets.charge_share("ip:1")
        await budgets.charge_share("ip:1")
        with pytest.raises(OverBudget) as shares:
            await budgets.charge_share("ip:1")
        after = refusals("client_image_bytes"), refusals("client_shares")
        return images.value.message, shares.value.message, before, after

    images, shares, before, after = run(settings, work)
    assert images.startswith("You have sent 1 MB of images this hour, the limit per visitor. Try again in ")
    assert shares.startswith("You have made 2 share links this hour, the limit per visitor. Try again in ")
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_the_store_budget_refuses_past_it_and_zero_turns_it_off(settings):
    async def work(client, budget_mb: int):
        budgets = Budgets(client, settings.model_copy(update={"store_budget_mb": budget_mb}))
        try:
            await budgets.check_memory("upload")
        except StoreFull as exc:
            return exc.message
        return None

    before = refusals("memory")
    used = int(redis.Redis.from_url(settings.redis_url).info("memory")["used_memory"])
    assert used > 2**20 // 2  # a Redis uses about 1 MB empty: a 1 MB budget is past
    message = run(settings, lambda c: work(c, 1 if used > 2**20 else 0))
    if used > 2**20:
        assert message and message.startswith("The demo's storage is full right now, so it cannot take images.")
        assert refusals("memory") - before == 1
    assert run(settings, lambda c: work(c, 10_000)) is None
    sync = redis.Redis.from_url(settings.redis_url)
    sync.config_set("maxmemory", int(used * 1.2))  # a managed Redis this full: 3/4 of its maxmemory is past
    try:
        assert run(settings, lambda c: work(c, 10_000)), "the budget never exceeds 3/4 of Redis's maxmemory"
        assert run(settings, lambda c: work(c, 0)) is None, "RIO_STORE_BUDGET_MB=0: no memory check at all"
    finally:
        sync.config_set("maxmemory", f"{settings.redis_maxmemory_mb}mb")


def test_redis_at_its_maxmemory_refuses_writes_plainly_and_counts_them(settings):
    sync = redis.Redis.from_url(settings.redis_url)
    sync.set("kept", b"x" * 1000)
    used = int(sync.info("memory")["used_memory"])
    sync.config_set("maxmemory", used + 50_000)
    before = refusals("redis_maxmemory")
    try:
        with pytest.raises(StoreFull) as exc:
            run(settings, lambda c: Budgets(c, settings).store("big", b"y" * 200_000, kind="image"))
    finally:
        sync.config_set("maxmemory", f"{settings.redis_maxmemory_mb}mb")
    assert exc.value.message == "The demo's storage is full right now, so it cannot keep this. Please try again later."
    assert refusals("redis_maxmemory") - before == 1 and sync.get("kept") == b"x" * 1000 and not sync.exists("big")


def test_counts_and_waits_are_said_plainly():
    def share(n: int) -> str:
        return english(plural_key("share_budget", n), {"limit": n, "wait": 3, "unit_word": "minutes"})

    assert share(1).startswith("You have made 1 share link this hour") and "Try again in 3 minutes." in share(1)
    assert share(2).startswith("You have made 2 share links this hour")
    waits = [wait_of(s) for s in (1, 119, 120, 121, 3601)]
    assert waits == [(1, "s"), (119, "s"), (2, "minutes"), (3, "minutes"), (61, "minutes")]


def test_the_store_budget_is_in_mib_with_one_sentence_per_kind_each_counted(settings):
    sync = redis.Redis.from_url(settings.redis_url)
    sync.set("filler", b"x" * 3 * 2**20)  # a Redis using ~4 MiB, so a budget of whole MiB sits just under it
    past = int(sync.info("memory")["used_memory"]) // 2**20

    async def work(client):
        full = Budgets(client, settings.model_copy(update={"store_budget_mb": past}))
        said = []
        for what in ("upload", "share"):
            with pytest.raises(StoreFull) as refused:
                await full.check_memory(what)
            said.append(refused.value.message)
        await Budgets(client, settings.model_copy(update={"store_budget_mb": past + 2})).check_memory("share")
        return said

    before = refusals("memory")
    said = run(settings, work)
    assert said == [f"The demo's storage is full right now, so it cannot take {noun}. Conversations without new "
                    "images still work, and existing share links stay readable; please try again later."
                    for noun in ("images", "new share links")]  # fmt: skip
    assert refusals("memory") - before == 2


def test_charges_keep_their_documented_keys_window_and_edges(settings):
    hour = int(time.time() // 3600)

    async def work(client):
        budgets = Budgets(client, settings)  # 1 MB of images and 2 shares an hour
        await budgets.charge_images("ip:7", 2**20 - 1)
        await budgets.charge_images("ip:7", 0)  # one byte left: the check before decoding an upload passes
        await budgets.charge_images("ip:7", 1)
        with pytest.raises(OverBudget):
            await budgets.charge_images("ip:7", 0)  # nothing left: refused before any decoding
        await budgets.charge_share("ip:7")
        for _ in range(3):
            await budgets.charge_share(None)  # no client to charge: never refused
            await Budgets(client, settings.model_copy(update={"shares_per_hour": 0})).charge_share("ip:8")  # off
        one = Budgets(client, settings.model_copy(update={"shares_per_hour": 1}))
        await one.charge_share("ip:9")
        with pytest.raises(OverBudget):
            await one.charge_share("ip:9")

    run(settings, work)
    sync = redis.Redis.from_url(settings.redis_url)
    assert int(sync.get(f"budget:ip:7:img:{hour}")) == 2**20 and int(sync.get(f"budget:ip:7:share:{hour}")) == 1
    assert 3600 <= sync.ttl(f"budget:ip:7:img:{hour}") <= 3601, "the hour's window, and a second"


def test_store_overwrites_unless_told_not_to_and_keeps_its_expiry(settings):
    async def work(client):
        budgets = Budgets(client, settings)
        wrote = [await budgets.store("k", b"one", kind="snapshot"), await budgets.store("k", b"two", kind="snapshot"),
                 await budgets.store("k", b"three", kind="snapshot", nx=True)]  # fmt: skip
        await budgets.store("t", b"soon gone", kind="image", ex=60)
        return wrote

    def stored(kind: str) -> float:
        return REGISTRY.get_sample_value("rio_stored_bytes_total", {"kind": kind}) or 0.0

    before = stored("snapshot"), stored("image")
    assert run(settings, work) == [True, True, False]
    assert (stored("snapshot") - before[0], stored("image") - before[1]) == (6, 9), "bytes written, by kind"
    sync = redis.Redis.from_url(settings.redis_url)
    assert sync.get("k") == b"two" and 55 <= sync.ttl("t") <= 60
