"""A chat session as the page holds it (one `gr.State`), and how a turn becomes a `JobSpec`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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
    """One side's request settings, as the parameter widgets give them."""

    model: str
    mode: Mode
    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 20
    max_tokens: int = 512
    seed: int | None = None
    max_switch_count: int | None = 2
    alpha0: float = 1.0
    window: int = 512

    def sampling_fields(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_p": self.top_p, "top_k": self.top_k,
                "max_tokens": self.max_tokens, "seed": self.seed}  # fmt: skip

    def reasoning_fields(self) -> dict[str, Any]:
        return {"mode": self.mode, "max_switch_count": self.max_switch_count, "alpha0": self.alpha0,
                "window": self.window}  # fmt: skip

    def sampling(self) -> Sampling:
        return Sampling(**self.sampling_fields())

    def reasoning(self) -> Reasoning:
        return Reasoning(**self.reasoning_fields())

    @classmethod
    def from_record(cls, side: SideRecord) -> Params:
        s, r = side.sampling, side.reasoning
        return cls(model=side.model, mode=r.mode, temperature=s.temperature, top_p=s.top_p, top_k=s.top_k,
                   max_tokens=s.max_tokens, seed=s.seed, max_switch_count=r.max_switch_count, alpha0=r.alpha0,
                   window=r.window)  # fmt: skip


def parse_params(values: dict[str, Any]) -> Params:
    seed = int(values["seed"]) if values.get("seed") not in (None, "", -1) else None
    switches = int(values["max_switch_count"]) if values.get("max_switch_count") else None
    return Params(
        model=values["model"],
        mode=values["mode"],
        temperature=float(values["temperature"]),
        top_p=float(values["top_p"]),
        top_k=int(values["top_k"]),
        max_tokens=int(values["max_tokens"]),
        seed=seed,
        max_switch_count=switches,
        alpha0=float(values["alpha0"]),
        window=int(values["window"]),
    )


@dataclass
class Turn:
    user_text: str
    image_refs: list[str] = field(default_factory=list)
    image_paths: list[str] = field(default_factory=list)  # sanitized copies the page can show
    job_id: str | None = None
    thinking: list[tuple[str, bool]] = field(default_factory=list)  # (text, latent) stretches
    answer: str = ""
    stats: Stats | None = None
    error: Error | None = None
    finish: str | None = None
    queue_position: int | None = None
    queue_wait_s: float | None = None
    switches: int = 0

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
            else:
                self.thinking.append((event.delta, event.latent))
        elif event.type == "answer":
            self.answer += event.delta
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
                          thinking=self.thinking, answer=self.answer, stats=self.stats, error=self.error,
                          finish=self.finish, switches=self.switches)  # fmt: skip

    @classmethod
    def from_record(cls, t: TurnRecord, image_dir: str) -> Turn:
        paths = [f"{image_dir}/{ref.removeprefix('img:')}.png" for ref in t.image_refs]
        return cls(user_text=t.user_text, image_refs=list(t.image_refs), image_paths=paths, job_id=t.job_id,
                   thinking=list(t.thinking), answer=t.answer, stats=t.stats, error=t.error, finish=t.finish,
                   switches=t.switches)  # fmt: skip

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


@dataclass
class ChatSession:
    turns: list[Turn] = field(default_factory=list)
    params: Params | None = None  # what the last turn was asked with
    lang: str = "en"  # the language its server-made texts are said in (the page sets it from the visitor's)

    @property
    def running(self) -> bool:
        return bool(self.turns) and self.turns[-1].running

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
