"""The one place bench/ imports the local engine's static decode path from: the captured step and its
cache from swireasoning/, the one-batch loop that drives them (`generate_static`) from bench/static_loop.py."""

from __future__ import annotations

from bench.static_loop import generate_static
from swireasoning.static_decode import GraphedStep, SlotCache, StaticStep, prefill_slot

__all__ = ["GraphedStep", "SlotCache", "StaticStep", "generate_static", "prefill_slot"]
