"""Where a chat's first token spends its time: one JSON line per job, when `RIO_HOP_LOG` names a file.

The web stamps its own hops on the turn (`Turn.hops`, wall-clock seconds): the page event received,
the turn stored, the job published, the first token read from the hub, the first page update that
shows it handed to Gradio. The worker's hops (job enqueued, started, first token written) are the
times Redis gave their stream entries, read back once per job after that first update. Off by
default; `bench.web` turns it on and joins each line with the visitor's side (request sent, token
shown) by session hash.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import redis.exceptions

from demo.session import Turn
from worker.jobs import JobClient

log = logging.getLogger(__name__)
WEB_HOPS = ("received", "stored", "published", "read", "sent")  # in the order a first token passes them


def stamp(turn: Turn, hop: str) -> None:
    """The first time `turn` passed `hop`."""
    turn.hops.setdefault(hop, time.time())


class HopLog:
    """Appends each traced turn's hops to `path` (nothing when `path` is None)."""

    def __init__(self, client: JobClient, path: Path | None) -> None:
        self.client = client
        self.path = path
        self._writing: set[asyncio.Task[None]] = set()  # held until done: the loop keeps only weak refs

    def first_shown(self, turn: Turn, session: str) -> None:
        """The page update showing the turn's first token is being sent: record its hops, off the page's path."""
        if self.path is None or "read" not in turn.hops or "sent" in turn.hops or turn.job_id is None:
            return
        stamp(turn, "sent")
        task = asyncio.get_running_loop().create_task(self._write(turn.job_id, session, dict(turn.hops)))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def _write(self, job_id: str, session: str, hops: dict[str, float]) -> None:
        try:
            worker = await self.client.stored_hops(job_id)
        except redis.exceptions.RedisError as exc:
            log.warning("hop log: could not read job %s (%s)", job_id, exc)
            return
        line = json.dumps({"session": session, "job": job_id, "web": hops, "worker": worker})
        assert self.path is not None
        with self.path.open("a") as f:
            f.write(line + "\n")
