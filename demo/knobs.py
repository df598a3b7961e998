"""The sampling and SwiReasoning knobs: the one list every tab, the API and a request's settings read.

Each knob is named once here; that name is its widget's input name on the API page (`temperature`,
`max_switch_count`, ...), its field in `session.Params` and in the job's `Sampling` or `Reasoning`.
No Gradio in here: `widgets.Knobs` builds the widgets from this list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal


def seed_or_random(value: Any) -> int | None:
    """-1 (or empty) asks for a random seed."""
    return int(value) if value not in (None, "", -1) else None


def zero_is_unlimited(value: Any) -> int | None:
    return int(value) if value else None


@dataclass(frozen=True)
class Knob:
    name: str
    part: Literal["sampling", "reasoning"]  # where the job spec carries it
    parse: Callable[[Any], Any]  # the widget's value -> the request's value
    default: float
    label: str
    slider: tuple[float, float, float] | None = None  # (minimum, maximum, step); None: a whole number box


# Listed in the page's order: four to a row.
KNOBS: tuple[Knob, ...] = (
    Knob("temperature", "sampling", float, 0.6, "Temperature", (0.0, 2.0, 0.05)),
    Knob("top_p", "sampling", float, 0.95, "Top-p", (0.05, 1.0, 0.01)),
    Knob("top_k", "sampling", int, 20, "Top-k (0 = off)", (0, 200, 1)),
    Knob("max_tokens", "sampling", int, 512, "Max new tokens", (1, 8192, 1)),
    Knob("seed", "sampling", seed_or_random, -1, "Seed (-1 = random)"),
    Knob("max_switch_count", "reasoning", zero_is_unlimited, 2, "Max switch count (0 = no limit)", (0, 16, 1)),
    Knob("window", "reasoning", int, 512, "Explicit dwell window (steps)", (1, 1024, 1)),
    Knob("alpha0", "reasoning", float, 1.0, "α₀ (blend toward <think> entering latent)", (0.0, 1.0, 0.05)),
)
KNOB_NAMES = tuple(k.name for k in KNOBS)


def parse_knobs(values: dict[str, Any]) -> dict[str, Any]:
    """The knobs' request values from the widgets' values, by name (other keys are ignored)."""
    return {k.name: k.parse(values[k.name]) for k in KNOBS}


def part_of(part: Literal["sampling", "reasoning"], knob_values: dict[str, Any]) -> dict[str, Any]:
    return {k.name: knob_values[k.name] for k in KNOBS if k.part == part}
