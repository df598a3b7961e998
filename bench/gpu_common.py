"""What both GPU benches share: repeats with their spread, the read-bandwidth floor, an L2 flush,
the machine's description, the compile-fallback watch and the JSON written whole to $OUT.

Imports only torch and the standard library (the GPU machine has no pydantic, sglang, ...).
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
import platform
import statistics
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

READ_BYTES = 1 << 30  # bandwidth probes read 1 GiB: far past any L2


def spread(values: list[float]) -> dict[str, Any]:
    """Median, min, max and (max - min) / median of repeated measurements, the values kept."""
    med = statistics.median(values)
    rel = (max(values) - min(values)) / med if med and math.isfinite(med) else None
    return {"median": med, "min": min(values), "max": max(values), "n": len(values), "rel_spread": rel,
            "values": values}  # fmt: skip


def machine(device: str) -> dict[str, Any]:
    """Which machine, software and commit produced a JSON file, and when (UTC)."""
    info: dict[str, Any] = {
        "device": device,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
    }
    for name in ("transformers", "triton"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    try:  # the device machine gets the working tree, maybe without .git
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        info["commit"] = commit.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["commit"] = None
    return info


def cuda_ms(fn: Any, iters: int) -> list[float]:
    """CUDA-event ms of each of `iters` calls of fn (after one untimed call)."""
    fn()
    pairs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
    for start, end in pairs:
        start.record()
        fn()
        end.record()
    torch.cuda.synchronize()
    return [s.elapsed_time(e) for s, e in pairs]


def read_bandwidth(device: str) -> dict[str, float]:
    """Bytes per second a full-device read reaches (a sum over 1 GiB of float32: reads only), and
    the device-to-device copy's read + write rate for comparison. On the CPU (dry runs) nominal."""
    if device != "cuda":
        return {"read_Bps": 1e9, "copy_read_plus_write_Bps": 1e9}
    x = torch.ones(READ_BYTES // 4, dtype=torch.float32, device=device)
    read_ms = statistics.median(cuda_ms(lambda: x.sum(), 10))
    y = torch.empty_like(x)
    copy_ms = statistics.median(cuda_ms(lambda: y.copy_(x), 10))
    return {"read_Bps": READ_BYTES / read_ms * 1e3, "copy_read_plus_write_Bps": 2 * READ_BYTES / copy_ms * 1e3}


class L2Flush:
    """A buffer twice the L2 cache, written before a timed call so its inputs come from HBM, as in
    a real decode step (the model's forward streams gigabytes through L2 between two of them)."""

    def __init__(self, device: str) -> None:
        self.l2_bytes = torch.cuda.get_device_properties(0).L2_cache_size if device == "cuda" else 0
        self.buffer = torch.empty(max(2 * self.l2_bytes, 1), dtype=torch.uint8, device=device)

    def __call__(self) -> None:
        if self.l2_bytes:
            self.buffer.zero_()


class FallbackWatch(logging.Handler):
    """Warnings and errors that `swireasoning` logs while a path runs: its compile fallbacks
    (static_decode logs one when torch.compile fails and the eager kernels run instead)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def watch_fallbacks() -> Iterator[FallbackWatch]:
    watch, logger = FallbackWatch(), logging.getLogger("swireasoning")
    logger.addHandler(watch)
    try:
        yield watch
    finally:
        logger.removeHandler(watch)


def finite(value: Any) -> Any:
    """NaN and infinities as null: the JSON stays standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def write_json(name: str, payload: dict[str, Any]) -> Path | None:
    """The bench's whole result as $OUT/name (None when OUT is unset); rewritten after each part, so
    a run cut short by its time limit still leaves what it measured."""
    if not os.environ.get("OUT"):
        return None
    path = Path(os.environ["OUT"]) / name
    path.write_text(json.dumps(finite(payload), indent=1, allow_nan=False))
    return path
