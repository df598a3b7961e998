"""The reasoning, drawn: a compact bar under an answer, its explicit and latent thinking stretches in
proportion to their tokens, each switch marked, the answer after.

Built from the events the page already folds into a turn (`reasoning{delta, latent}` stretches, counted
per event while streaming; `stats` once the job ends, whose token counts then set the proportions), the
same for the local engine and SGLang. One small inline HTML bar per update (no plot component), with a
sentence for screen readers (`aria-label` and a visually hidden copy)."""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass
from typing import Literal

from demo.i18n import text
from worker.jobs import Stats

Kind = Literal["explicit", "latent", "answer"]
CLASS = "swir-timeline"
HIDDEN = "swir-sr-only"
CSS = f"""
.{CLASS} {{ display: flex; height: 10px; width: 100%; max-width: 480px; border-radius: 3px; overflow: hidden;
  background: #eee; margin: 4px 0; }}
.{CLASS} span {{ display: block; height: 100%; }}
.{CLASS} .explicit {{ background: #3b7dd8; }}
.{CLASS} .latent {{ background: #b58ee8; background-image: repeating-linear-gradient(45deg, transparent 0 3px,
  rgba(255,255,255,.45) 3px 5px); }}
.{CLASS} .answer {{ background: #4caf50; }}
.{CLASS} .switch {{ flex: 0 0 2px; background: #222; }}
.{HIDDEN} {{ position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }}
"""


@dataclass(frozen=True)
class Segment:
    kind: Kind
    tokens: int


@dataclass(frozen=True)
class Timeline:
    segments: tuple[Segment, ...]
    switches: int  # switch points drawn: the boundaries between explicit and latent stretches

    def tokens(self, kind: Kind) -> int:
        return sum(s.tokens for s in self.segments if s.kind == kind)


def scaled(counts: list[int], total: int) -> list[int]:
    """`counts` rescaled to sum to `total`, by largest remainder (each stretch keeps at least one token
    when there are enough)."""
    have = sum(counts)
    if have == total or have == 0:
        return list(counts)
    exact = [c * total / have for c in counts]
    out = [int(x) for x in exact]
    for i in sorted(range(len(exact)), key=lambda i: exact[i] - out[i], reverse=True)[: total - sum(out)]:
        out[i] += 1
    return out


def build_timeline(stretches: list[tuple[bool, int]], answer_events: int, stats: Stats | None) -> Timeline:
    """Segments from the thinking stretches (latent flag, events seen) and the answer; with `stats`, the
    explicit and latent stretches are scaled to the job's own token counts."""
    latent = [n for is_latent, n in stretches if is_latent]
    explicit = [n for is_latent, n in stretches if not is_latent]
    answer = answer_events
    if stats is not None and stats.reasoning_tokens:
        latent = scaled(latent, stats.latent_steps)
        explicit = scaled(explicit, stats.reasoning_tokens - stats.latent_steps)
    if stats is not None:
        answer = max(0, stats.completion_tokens - stats.reasoning_tokens)
    lat, exp = iter(latent), iter(explicit)
    segments = [
        Segment("latent", next(lat)) if is_latent else Segment("explicit", next(exp)) for is_latent, _ in stretches
    ]
    segments = [s for s in segments if s.tokens > 0]
    if answer:
        segments.append(Segment("answer", answer))
    thinking = [s for s in segments if s.kind != "answer"]
    switches = sum(a.kind != b.kind for a, b in itertools.pairwise(thinking))
    return Timeline(tuple(segments), switches)


def describe(tl: Timeline, lang: str) -> str:
    """The timeline as one sentence (its text alternative): totals, stretches and changes of mode."""
    answer = tl.tokens("answer")
    stretches = sum(s.kind != "answer" for s in tl.segments)
    if not stretches:
        return text("timeline.no_thinking", lang, answer=answer)
    return text("timeline.summary", lang, explicit=tl.tokens("explicit"), latent=tl.tokens("latent"),
                stretches=stretches, switches=tl.switches, answer=answer)  # fmt: skip


def timeline_html(tl: Timeline, lang: str) -> str:
    """A flex bar: one span per segment, its width its share of the tokens; a dark tick at each switch."""
    if not tl.segments:
        return ""
    sentence = html.escape(describe(tl, lang))
    spans: list[str] = []
    for prev, seg in zip((None, *tl.segments), tl.segments, strict=False):
        if prev is not None and {prev.kind, seg.kind} == {"explicit", "latent"}:
            spans.append('<span class="switch"></span>')
        name = html.escape(text(f"timeline.{seg.kind}", lang))
        spans.append(f'<span class="{seg.kind}" style="flex: {seg.tokens} 1 0" title="{name}: {seg.tokens}"></span>')
    return (f'<div class="{CLASS}" role="img" aria-label="{sentence}">{"".join(spans)}</div>'
            f'<span class="{HIDDEN}">{sentence}</span>')  # fmt: skip


def thinking_side_by_side(label_a: str, a: Stats | None, label_b: str, b: Stats | None, lang: str) -> str:
    """The two sides' thinking tokens and decoding time for them (e.g. SwiReasoning on vs off)."""
    if a is None or b is None or not (a.reasoning_tokens or b.reasoning_tokens):
        return ""

    def seconds(s: Stats) -> str:
        return f"{s.reasoning_tokens / s.tokens_per_s:.1f}" if s.tokens_per_s else "–"

    return text("timeline.compare", lang, a=label_a, ta=a.reasoning_tokens, sa=seconds(a), b=label_b,
                tb=b.reasoning_tokens, sb=seconds(b))  # fmt: skip
