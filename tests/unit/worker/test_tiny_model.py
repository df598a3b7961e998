"""The tiny model is one checkpoint, whatever else the building process is doing at the time."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import torch

from worker.ops.tiny_model import build_apart


def weights_digest(path: Path) -> str:
    return hashlib.sha256(b"".join(f.read_bytes() for f in sorted(path.glob("*.safetensors")))).hexdigest()


def test_a_build_beside_a_thread_drawing_from_torchs_rng_makes_the_runs_model(tiny_model, tmp_path):
    """The live servers build their model in a background thread while tests draw random numbers: an
    in-process build then got other weights (the live Rio answered in one token on one CI machine)."""
    stop = threading.Event()

    def draw() -> None:
        while not stop.is_set():
            torch.randn(4096)

    noise = threading.Thread(target=draw)
    noise.start()
    try:
        built = build_apart(tmp_path / "tiny-random")
    finally:
        stop.set()
        noise.join()
    assert weights_digest(built) == weights_digest(tiny_model)
