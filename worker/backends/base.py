"""The one backend interface: `execute(job, ctx) -> Iterator[Event]`, for the local engine and SGLang.

A backend yields content events (`started`, `reasoning`, `answer`, `switch`, `stats`) and a final
`done`; it raises a `worker.errors.RioError` for anything the user should see. The task closes the
iterator to cancel (a backend cleans up in `finally`/GeneratorExit), so backends never poll Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Protocol

from worker.queue.protocol import Event, JobSpec


@dataclass(frozen=True)
class JobContext:
    worker: str
    load_image: Callable[[str], bytes]  # `img:<sha256>` -> sanitized PNG or JPEG bytes


class Backend(Protocol):
    name: str

    def execute(self, job: JobSpec, ctx: JobContext) -> Generator[Event, None, None]: ...
