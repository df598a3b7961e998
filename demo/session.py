"""A chat session as the page holds it (one `gr.State`), and how a turn becomes a `JobSpec`."""

from __future__ import annotations

from dataclasses import dataclass, field

from worker.jobs import (
    ChatMessage,
    Error,
    Event,
    ImagePart,
    JobSpec,
    Reasoning,
    Sampling,
    Stats,
    TextPart,
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
    switches: int = 0

    @property
    def running(self) -> bool:
        return self.job_id is not None and self.finish is None and self.error is None

    def apply(self, event: Event) -> None:
        """Fold one job event into the turn (thinking stretches keep their latent flag)."""
        if event.type == "queued":
            self.queue_position = event.position
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

    def spec_for_last(self, model: str, sampling: Sampling, reasoning: Reasoning, client: str) -> JobSpec:
        """The job for the last turn; history carries answers only (thinking is never sent back)."""
        messages: list[ChatMessage] = []
        for turn in self.turns[:-1]:
            if turn.error is not None or not turn.answer:
                continue
            messages.append(turn.user_message())
            messages.append(ChatMessage(role="assistant", content=turn.answer))
        messages.append(self.turns[-1].user_message())
        return JobSpec(model=model, messages=messages, sampling=sampling, reasoning=reasoning, client=client)
