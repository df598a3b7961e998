"""A model's health, as the page reads it before each chat: one Redis read serves a burst of chats,
and a change its workers publish is seen within `HEALTH_FRESH_S`."""

from __future__ import annotations

import asyncio
import time

from demo.chat import HEALTH_FRESH_S, ChatService
from worker.jobs import JobClient
from worker.queue.protocol import ModelHealth, health_key


def test_a_burst_of_chats_reads_a_models_health_once_and_sees_a_change_a_second_later(settings, redis_proc, r):
    model = "health-reads"
    r.set(health_key(model), ModelHealth(up=False, detail="replica gone").model_dump_json(), ex=30)

    async def go() -> tuple[list, int, str | None, int]:
        service = ChatService(JobClient.from_settings(settings), settings.var_dir / "uploads-health")
        reads = []
        read = service.client.health

        async def counted(key: str) -> ModelHealth | None:
            reads.append(key)
            return await read(key)

        service.client.health = counted  # type: ignore[method-assign]
        burst = await asyncio.gather(*(service.down_detail(model) for _ in range(20)))
        in_burst = len(reads)
        r.set(health_key(model), ModelHealth(up=True).model_dump_json(), ex=30)
        await asyncio.sleep(HEALTH_FRESH_S + 0.05)
        later = await service.down_detail(model)
        await service.client.redis.aclose()
        return burst, in_burst, later, len(reads)

    t0 = time.monotonic()
    burst, in_burst, later, reads = asyncio.run(go())
    assert burst == ["replica gone"] * 20 and in_burst == 1
    assert later is None and reads == 2 and time.monotonic() - t0 < 5
