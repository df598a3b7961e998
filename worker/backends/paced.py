"""`paced`: a backend that streams fixed text at a fixed token rate with no model behind it.

For load tests and benchmarks of everything around the engine (web, Celery, Redis Streams): its
timing is known exactly, so what the pipeline adds can be measured. Enabled with `RIO_PACED_MODEL=1`.
A last message beginning `echo:` is answered with its own words instead (once, then `stop`), so a test
can make it say what a model would ("echo: I am Qwen").
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator

from worker.backends.base import JobContext
from worker.queue.protocol import AnswerDelta, Done, Event, JobSpec, ReasoningDelta, Started, Stats

WORDS = [
    "Rio",
    "de",
    "Janeiro",
    "open",
    "model",
    "streams",
    "tokens",
    "at",
    "a",
    "steady",
    "pace",
    "for",
    "load",
    "tests:",
    # and a little math, in the delimiters models write, so the page's rendering of it is exercised too
    "$n$",
    "tokens",
    "in",
    "\\(t\\)",
    "seconds,",
    "$$r",
    "=",
    "n/t.$$",
]


class PacedBackend:
    name = "paced"

    def __init__(self, interval_s: float | None = None, thinking_tokens: int = 8) -> None:
        interval_s = float(os.environ.get("RIO_PACED_INTERVAL_S", "0.01")) if interval_s is None else interval_s
        self.interval_s = interval_s
        self.thinking_tokens = thinking_tokens

    def execute(self, job: JobSpec, ctx: JobContext) -> Generator[Event, None, None]:
        yield Started(worker=ctx.worker, backend=self.name)
        t0 = time.perf_counter()
        echo = echoed(job)
        n = min(job.sampling.max_tokens, len(echo)) if echo else job.sampling.max_tokens
        for i in range(n):
            # sleep until this token's slot, so the rate stays exact whatever the consumer costs
            time.sleep(max(0.0, t0 + i * self.interval_s - time.perf_counter()))
            word = (echo or WORDS)[i % len(echo or WORDS)] + " "
            thinking = job.reasoning.mode != "off" and i < self.thinking_tokens
            yield ReasoningDelta(delta=word) if thinking else AnswerDelta(delta=word)
        elapsed = time.perf_counter() - t0
        yield Stats(
            prompt_tokens=sum(len(m.text().split()) for m in job.messages),
            completion_tokens=n,
            reasoning_tokens=min(n, self.thinking_tokens) if job.reasoning.mode != "off" else 0,
            tokens_per_s=n / elapsed if elapsed > 0 else 0.0,
        )
        yield Done(finish_reason="stop" if echo and n == len(echo) else "length")


def echoed(job: JobSpec) -> list[str]:
    """The words after `echo:` in the last message, or none."""
    text = job.messages[-1].text().strip() if job.messages else ""
    return text[len("echo:") :].split() if text.lower().startswith("echo:") else []
