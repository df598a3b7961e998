"""Bounded under abuse, on a stack of its own (Redis with a small maxmemory, a paced worker, the web):
one visitor at every limit cannot fill Redis or crowd out the others, and past the memory budget new
uploads and shares are refused plainly while running jobs, streams and share links keep working."""

from __future__ import annotations

import html
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis
from gradio_client import Client
from PIL import Image

from tests.support.helpers import chat, last_answer, value
from worker.ops import redis_server
from worker.ops.devstack import free_port, start_web, start_worker, stop
from worker.ops.settings import Settings

BUDGET_MB = 16  # uploads and shares refused past this much Redis memory...
MAXMEMORY_MB = 40  # ...well below Redis's own limit
SOAK_S = 25


@pytest.fixture(scope="module")
def stack(settings, tmp_path_factory) -> Iterator[tuple[Settings, str]]:
    s = settings.model_copy(update={
        "redis_url": f"redis://127.0.0.1:{free_port()}/0", "var_dir": tmp_path_factory.mktemp("abuse"),
        "web_port": free_port(), "web_metrics_port": free_port(), "worker_metrics_port": free_port(),
        "redis_maxmemory_mb": MAXMEMORY_MB, "store_budget_mb": BUDGET_MB, "image_mb_per_hour": 2,
        "shares_per_hour": 1, "requests_per_minute": 2,
    })  # fmt: skip
    procs = [redis_server.start(s, log_path=s.var_dir / "redis.log")]
    try:
        procs.append(start_worker(s, "abuse-worker", RIO_WORKER_MODELS="paced"))
        web, url = start_web(s)
        procs.append(web)
        yield s, url
    finally:
        for proc in reversed(procs):
            stop(proc)


def as_client(url: str, ip: str) -> Client:
    return Client(url, verbose=False, headers={"X-Forwarded-For": ip})


def noise_png(path: Path, seed: int, side: int = 600) -> str:
    """An image no encoder shrinks much: ~0.6 MB as stored (JPEG)."""
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path)
    return str(path)


def shown(out) -> str:
    """What the page shows of a chat (its footer is HTML-escaped)."""
    return html.unescape(json.dumps(value(out[0]) if isinstance(out, tuple | list) else out, ensure_ascii=False))


def share(client: Client) -> str:
    return str(value(client.predict(api_name="/share_chat")))


def open_share(client: Client, share_id: str) -> str:
    return str(value(client.predict(share_id, api_name="/open_share")[0]))


def used_mb(r: redis.Redis) -> float:
    return int(r.info("memory")["used_memory"]) / 2**20


def test_redis_runs_with_a_maxmemory_that_never_evicts(stack):
    r = redis.Redis.from_url(stack[0].redis_url)
    assert r.config_get("maxmemory")["maxmemory"] == str(MAXMEMORY_MB * 2**20)
    assert r.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"


SENTENCES = {
    "images": r"You have sent 2 MB of images this hour, the limit per visitor\. Try again in \d+ (minutes|s)",
    "shares": r"You have made 1 share link this hour, the limit per visitor\. Try again in \d+ (minutes|s)",
    "requests": r"Too many requests: the limit is 2 per minute\. Try again in \d+ s",
}


def test_one_client_at_its_limits_cannot_fill_redis_or_crowd_out_another(stack, tmp_path):
    """The abuser uploads, chats and shares without pause for SOAK_S (longer only until it has met every
    limit, on a slow machine); other visitors chat and an existing share link opens every 5 s."""
    s, url = stack
    r = redis.Redis.from_url(s.redis_url)
    reader = as_client(url, "10.9.0.2")
    chat(reader, "Keep me.", model="paced", max_tokens=5).result()
    share_id = share(reader).rsplit("=", 1)[1]
    abuser = as_client(url, "10.9.0.1")
    said, peak, checks, i = "", 0.0, 0, 0
    start = next_check = time.monotonic()
    met = lambda: all(re.search(p, said) for p in SENTENCES.values())  # noqa: E731
    while time.monotonic() < start + SOAK_S or (not met() and time.monotonic() < start + 2 * SOAK_S):
        for files in ([noise_png(tmp_path / f"{i}.png", i)], []):  # a chat with an image, one without; share each
            said += shown(chat(abuser, f"Look {i}", files, model="paced", max_tokens=2).result()) + share(abuser)
        peak, i = max(peak, used_mb(r)), i + 1
        if time.monotonic() >= next_check:  # meanwhile, other visitors are served as usual
            assert "Chat with" in open_share(reader, share_id), "an existing share link still opens"
            visitor = as_client(url, f"10.9.5.{checks}")
            answer = last_answer(chat(visitor, "Still there?", model="paced", max_tokens=4).result()[0])
            assert "4 tokens" in answer.footer, answer
            checks, next_check = checks + 1, time.monotonic() + 5
    for name, pattern in SENTENCES.items():
        assert re.search(pattern, said), name
    assert peak < BUDGET_MB and checks >= 3, (peak, checks)
    metrics = httpx.get(f"http://127.0.0.1:{s.web_metrics_port}/metrics").text
    for line in ('rio_budget_refusals_total{budget="client_image_bytes"}',
                 'rio_budget_refusals_total{budget="client_shares"}', 'rio_stored_bytes_total{kind="image"}',
                 'rio_stored_bytes_total{kind="snapshot"}'):  # fmt: skip
        assert re.search(re.escape(line) + r" [1-9]", metrics), line


def fill(r: redis.Redis, until_mb: float) -> int:
    """Other visitors' data, up to `until_mb` of Redis memory; returns how many keys it took."""
    n = 0
    while used_mb(r) < until_mb:
        r.set(f"filler:{n}", os.urandom(2**20))
        n += 1
    return n


def test_past_the_memory_budget_uploads_and_shares_are_refused_and_nothing_is_lost(stack, tmp_path):
    s, url = stack
    r = redis.Redis.from_url(s.redis_url)
    keeper = as_client(url, "10.9.1.1")
    chat(keeper, "Mine.", [noise_png(tmp_path / "mine.png", 99, side=200)], model="paced", max_tokens=3).result()
    share_id = share(keeper).rsplit("=", 1)[1]
    kept = {k: r.get(k) for pattern in ("img:*", "keep:*", "share:*") for k in r.scan_iter(pattern)}
    runner = as_client(url, "10.9.1.2")
    running = chat(runner, "A long one.", model="paced", reasoning="off", max_tokens=400)
    for out in running:
        if last_answer(out[0]).answer:
            break
    try:
        fill(r, BUDGET_MB + 1)
        newcomer = as_client(url, "10.9.1.3")
        full = "The demo's storage is full right now, so it cannot take"
        refused = shown(chat(newcomer, "Look.", [noise_png(tmp_path / "new.png", 7)], model="paced").result())
        assert f"{full} images." in refused
        newcomer.predict(api_name="/new_chat")
        assert "3 tokens" in last_answer(chat(newcomer, "No image.", model="paced", max_tokens=3).result()[0]).footer
        assert f"{full} new share links." in share(newcomer)
        assert "400 tokens" in last_answer(running.result()[0]).footer, "the running job finished"
        assert "Chat with" in open_share(newcomer, share_id), "an existing share link still opens"
        with pytest.raises(redis.exceptions.OutOfMemoryError):  # Redis itself full: it refuses, it never evicts
            fill(r, MAXMEMORY_MB * 2)
        refused = shown(chat(newcomer, "Look.", [noise_png(tmp_path / "new2.png", 8)], model="paced").result())
        assert f"{full} images." in refused, "refused plainly, not as an internal error"
        assert {k: r.get(k) for k in kept} == kept, "nothing already stored was lost"
    finally:
        r.delete(*r.keys("filler:*"))


def test_the_webs_copies_on_disk_expire_with_their_redis_keys(tmp_path):
    from demo.uploads import prune

    old, fresh = tmp_path / "old.png", tmp_path / "fresh.png"
    for path in (old, fresh):
        path.write_bytes(b"x")
    now = time.time()
    os.utime(old, (now - 3601, now - 3601))
    assert prune(tmp_path, max_age_s=3600, now=now) == 1
    assert not old.exists() and fresh.exists()


def share_refusal(settings, side, client: str) -> str:
    """The sentence ShareStore refuses a one-side chat snapshot with (it must refuse it)."""
    import asyncio

    import redis.asyncio as aioredis

    from worker.errors import ShareTooLarge
    from worker.store.records import ShareStore, Snapshot

    async def go() -> str:
        redis_client = aioredis.Redis.from_url(settings.redis_url)
        try:
            with pytest.raises(ShareTooLarge) as refused:
                await ShareStore(redis_client, settings).put(Snapshot(kind="chat", sides=[side]), client=client)
            return refused.value.message
        finally:
            await redis_client.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("turns", "images", "sentence"),
    [(65, 0, "it has 65 turns and a shared conversation holds at most 64"),
     (2, 17, "it has 17 images and a share holds at most 16")],
)  # fmt: skip
def test_a_share_snapshot_has_a_size_cap(settings, redis_proc, turns, images, sentence):

    from worker.queue.protocol import Reasoning, Sampling
    from worker.store.records import SideRecord, TurnRecord

    refs = [f"img:{i:064x}" for i in range(images)]
    records = [TurnRecord(user_text="hi", image_refs=refs if t == 0 else []) for t in range(turns)]
    side = SideRecord(model="paced", label="paced", sampling=Sampling(), reasoning=Reasoning(mode="off"), turns=records)

    refusal = share_refusal(settings, side, "ip:10.9.2.1")
    assert refusal == f"This conversation is too large to share: {sentence}. Start a new one to share."


def test_a_share_holds_at_most_rio_share_max_mb_of_json_and_images_together(settings, r):
    """0.6 MB of text passes alone; with its 0.6 MB image the snapshot is over RIO_SHARE_MAX_MB=1."""

    from worker.queue.protocol import Reasoning, Sampling
    from worker.store.records import SideRecord, TurnRecord

    ref = "img:" + "5" * 64
    r.set(ref, os.urandom(600_000), ex=60)
    turn = TurnRecord(user_text="x" * 600_000, image_refs=[ref])
    side = SideRecord(model="paced", label="paced", sampling=Sampling(), reasoning=Reasoning(mode="off"), turns=[turn])
    one_mb = settings.model_copy(update={"share_max_mb": 1})

    try:
        message = share_refusal(one_mb, side, "ip:10.9.2.2")
    finally:
        r.delete(ref)
    assert message == ("This conversation is too large to share: it takes 1.2 MB and a share holds at most 1 MB. "
                       "Start a new one to share.")  # fmt: skip
    assert not r.keys("keep:" + ref), "nothing of it was kept"
