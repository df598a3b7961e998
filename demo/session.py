"""A chat session as the page holds it (one `gr.State`), and how a turn becomes a `JobSpec`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from demo.knobs import KNOB_NAMES, parse_knobs, part_of
from worker.jobs import (
    ChatMessage,
    Error,
    Event,
    ImagePart,
    JobSpec,
    Outcome,
    Reasoning,
    Sampling,
    Settings,
    SideRecord,
    Snapshot,
    Stats,
    TextPart,
    TurnRecord,
    job_spec,
)

Mode = Literal["swireasoning", "thinking", "off"]


@dataclass(frozen=True)
class Params:
    """One side's request settings: a model, a reasoning mode and the knobs (`demo/knobs.py`)."""

    model: str
    mode: Mode
    temperature: float
    top_p: float
    top_k: int
    max_tokens: int
    seed: int | None
    max_switch_count: int | None
    window: int
    alpha0: float

    @classmethod
    def parse(cls, values: dict[str, Any], side: str = "") -> Params:
        """One side's settings from an event's named inputs: `model`, `reasoning` and the knobs
        (`model_a`, `reasoning_a`, ... with `side="_a"`), each knob parsed by its `Knob`."""
        return cls(model=values["model" + side], mode=values["reasoning" + side], **parse_knobs(values))

    def knob_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in KNOB_NAMES}

    def sampling_fields(self) -> dict[str, Any]:
        return part_of("sampling", self.knob_values())

    def reasoning_fields(self) -> dict[str, Any]:
        return {"mode": self.mode, **part_of("reasoning", self.knob_values())}

    def sampling(self) -> Sampling:
        return Sampling(**self.sampling_fields())

    def reasoning(self) -> Reasoning:
        return Reasoning(**self.reasoning_fields())

    @classmethod
    def from_record(cls, side: SideRecord) -> Params:
        kept = {**side.sampling.model_dump(), **side.reasoning.model_dump()}
        return cls(model=side.model, mode=side.reasoning.mode, **{name: kept[name] for name in KNOB_NAMES})


@dataclass
class Turn:
    user_text: str
    image_refs: list[str] = field(default_factory=list)
    image_paths: list[str] = field(default_factory=list)  # sanitized copies the page can show
    job_id: str | None = None
    thinking: list[tuple[str, bool]] = field(default_factory=list)  # (text, latent) stretches
    thinking_steps: list[int] = field(default_factory=list)  # reasoning events per stretch (the timeline)
    answer: str = ""
    answer_steps: int = 0  # answer events
    stats: Stats | None = None
    error: Error | None = None
    finish: str | None = None
    queue_position: int | None = None
    queue_wait_s: float | None = None
    switches: int = 0
    feedback_id: str | None = None  # the visitor's rating of this answer, once given
    hops: dict[str, float] = field(default_factory=dict, repr=False, compare=False)  # demo/hops.py

    @property
    def running(self) -> bool:
        return self.job_id is not None and self.finish is None and self.error is None

    def apply(self, event: Event) -> None:
        """Fold one job event into the turn (thinking stretches keep their latent flag)."""
        if event.type == "queued":
            self.queue_position, self.queue_wait_s = event.position, event.wait_s
        elif event.type == "started":
            self.queue_position = None
        elif event.type == "reasoning":
            if self.thinking and self.thinking[-1][1] == event.latent:
                self.thinking[-1] = (self.thinking[-1][0] + event.delta, event.latent)
                self.thinking_steps[-1] += 1
            else:
                self.thinking.append((event.delta, event.latent))
                self.thinking_steps.append(1)
        elif event.type == "answer":
            self.answer += event.delta
            self.answer_steps += 1
        elif event.type == "switch":
            self.switches = event.count
        elif event.type == "stats":
            self.stats = event
        elif event.type == "done":
            self.finish = event.finish_reason
        elif event.type == "error":
            self.error = event

    def record(self) -> TurnRecord:
        return TurnRecord(user_text=self.user_text, image_refs=self.image_refs, job_id=self.job_id,
                          thinking=self.thinking, thinking_steps=self.thinking_steps, answer=self.answer,
                          answer_steps=self.answer_steps, stats=self.stats, error=self.error, finish=self.finish,
                          switches=self.switches)  # fmt: skip

    @classmethod
    def from_record(cls, t: TurnRecord, image_dir: str) -> Turn:
        paths = [f"{image_dir}/{ref.removeprefix('img:')}.png" for ref in t.image_refs]
        return cls(user_text=t.user_text, image_refs=list(t.image_refs), image_paths=paths, job_id=t.job_id,
                   thinking=list(t.thinking), thinking_steps=steps_of(t), answer=t.answer,
                   answer_steps=t.answer_steps, stats=t.stats, error=t.error, finish=t.finish,
                   switches=t.switches)  # fmt: skip

    def stretches(self) -> list[tuple[bool, int]]:
        """(latent, events) per thinking stretch, for the timeline."""
        return [(latent, n) for (_, latent), n in zip(self.thinking, self.thinking_steps, strict=True)]

    def retry(self) -> Turn:
        """The same user input, unanswered (regenerate)."""
        return Turn(user_text=self.user_text, image_refs=list(self.image_refs), image_paths=list(self.image_paths))

    @property
    def thinking_text(self) -> str:
        return "".join(text for text, _ in self.thinking)

    def user_message(self) -> ChatMessage:
        parts: list[TextPart | ImagePart] = [ImagePart(ref=ref) for ref in self.image_refs]
        if self.user_text:
            parts.append(TextPart(text=self.user_text))
        return ChatMessage(role="user", content=parts)


def steps_of(t: TurnRecord) -> list[int]:
    """Events per stretch; a record from before they were kept: each stretch's characters stand in."""
    if len(t.thinking_steps) == len(t.thinking):
        return list(t.thinking_steps)
    return [max(1, len(text)) for text, _ in t.thinking]


@dataclass
class ChatSession:
    turns: list[Turn] = field(default_factory=list)
    params: Params | None = None  # what the last turn was asked with
    lang: str = "en"  # the language its server-made texts are said in (the page sets it from the visitor's)

    @property
    def running(self) -> bool:
        return bool(self.turns) and self.turns[-1].running

    def holds(self, turn: Turn) -> bool:
        """Whether `turn` itself (not an equal one) is still in the conversation (not retried or edited away)."""
        return any(t is turn for t in self.turns)

    def record(self, label: str) -> SideRecord:
        assert self.params is not None, "a session is recorded after it ran"
        return SideRecord(model=self.params.model, label=label, sampling=self.params.sampling(),
                          reasoning=self.params.reasoning(), turns=[t.record() for t in self.turns])  # fmt: skip

    @classmethod
    def from_record(cls, side: SideRecord, image_dir: str) -> ChatSession:
        return cls(turns=[Turn.from_record(t, image_dir) for t in side.turns], params=Params.from_record(side))

    def spec_for_last(self, params: Params, client: str, settings: Settings) -> JobSpec:
        """The job for the last turn (InputError if it is not a valid one); history carries answers
        only (thinking is never sent back)."""
        messages: list[ChatMessage] = []
        for turn in self.turns[:-1]:
            if turn.error is not None or not turn.answer:
                continue
            messages.append(turn.user_message())
            messages.append(ChatMessage(role="assistant", content=turn.answer))
        messages.append(self.turns[-1].user_message())
        fields = {"model": params.model, "messages": messages, "client": client[:128],
                  "sampling": params.sampling_fields(), "reasoning": params.reasoning_fields()}  # fmt: skip
        return job_spec(fields, settings)


def snapshot_of(kind: Literal["chat", "compare", "battle"], sessions: list[ChatSession], labels: list[str],
                vote: Outcome | None = None) -> Snapshot:  # fmt: skip
    """The sessions as one immutable record (share links, battles, the browser's resume state)."""
    sides = [s.record(label) for s, label in zip(sessions, labels, strict=True)]
    return Snapshot(kind=kind, sides=sides, vote=vote)
