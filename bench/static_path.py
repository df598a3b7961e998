"""The one place bench/ imports the local engine's static decode path from (a later move of
`generate_static` out of swireasoning/ changes this file only)."""

from __future__ import annotations

from swireasoning.static_decode import GraphedStep, SlotCache, StaticStep, generate_static, prefill_slot

__all__ = ["GraphedStep", "SlotCache", "StaticStep", "generate_static", "prefill_slot"]
