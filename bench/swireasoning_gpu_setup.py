"""The SwiReasoning GPU bench's sizes, inputs and timers (bench/swireasoning_gpu.py and its checks).

`SWIR_BENCH_DRY_RUN=1` runs every line on a CPU at toy sizes (Triton's interpreter): the code, not
its speed. Imports only torch, triton (through swireasoning) and swireasoning/.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import torch

from bench.gpu_common import L2Flush, spread

DRY = os.environ.get("SWIR_BENCH_DRY_RUN") == "1"  # every line of the script on a CPU, tiny sizes
DEV = "cpu" if DRY else "cuda"
VOCAB, HIDDEN, RANKS = (2400, 64, 8) if DRY else (248_320, 4096, 8)
BATCHES = (1, 2) if DRY else (1, 8, 32, 64, 128)
CHECK_STEPS = 3 if DRY else 30  # steps of each replayed check


def sync() -> None:
    if not DRY:
        torch.cuda.synchronize()


class Timer:
    """GPU time (CUDA events around each call, L2 flushed before each, outside the events) and wall
    time (host time per call over `iters` calls ended by one sync, `repeats` times): their spread."""

    def __init__(self) -> None:
        self.flush = L2Flush(DEV)

    def gpu(self, fn: Callable[[], object], iters: int = 30, warmup: int = 3) -> dict[str, Any]:
        if DRY:
            return self.wall(fn)
        for _ in range(warmup):
            fn()
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
        for start, end in events:  # no sync between calls: the host queues ahead, as in a decode loop
            self.flush()
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize()
        return spread([start.elapsed_time(end) for start, end in events])

    def wall(self, fn: Callable[[], object], iters: int = 30, repeats: int = 3) -> dict[str, Any]:
        iters, warmup, repeats = (1, 0, 1) if DRY else (iters, 3, repeats)
        for _ in range(warmup):
            fn()
        per_call = []
        for _ in range(repeats):
            sync()
            t0 = time.perf_counter()
            for _ in range(iters):
                fn()
            sync()
            per_call.append((time.perf_counter() - t0) * 1e3 / iters)
        return spread(per_call)


def inputs(b: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of widely varying scale per row (rows switch often) and sampled ids."""
    logits = torch.randn(b, VOCAB, generator=g, device=DEV) * (torch.rand(b, 1, generator=g, device=DEV) * 6)
    return logits, torch.randint(9, VOCAB, (b,), generator=g, device=DEV)


class Fresh:
    """Input sets whose logits add up to at least twice the L2 cache, handed out in turn: a timed
    call never finds the previous call's logits in L2 (at B <= 32 one set would fit)."""

    def __init__(self, b: int, g: torch.Generator, l2_bytes: int) -> None:
        per_set = b * VOCAB * 4
        n = max(2, -(-2 * l2_bytes // per_set))
        self.sets = [inputs(b, g) for _ in range(n)]
        self.i = 0

    @property
    def bytes(self) -> int:
        return sum(logits.numel() * 4 for logits, _ in self.sets)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        self.i = (self.i + 1) % len(self.sets)
        return self.sets[self.i]


def graphed(fn: Callable[[], object]) -> Callable[[], object]:
    """fn captured in a CUDA graph (its inputs and state are static tensors): returns the replay."""
    if DRY:
        for _ in range(2):
            fn()
        return fn
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay
