"""The typed messages that cross process boundaries: the job spec and the events of a job's stream.

Version 1. Every model forbids unknown fields; events are a union discriminated by `type`. The `error`
event's `key` and `params` (the sentence's key in `worker.sentences` and its parameters) were added to
version 1 as optional fields: a reader built before them rejects an error event that has them, so
deploy the web before (or with) the workers.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from worker.sentences import english

PROTOCOL_VERSION: Literal[1] = 1


class Message_(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- job spec -------------------------------------------------------------------------------


class TextPart(Message_):
    type: Literal["text"] = "text"
    text: str


class ImagePart(Message_):
    type: Literal["image"] = "image"
    ref: str = Field(pattern=r"^img:[0-9a-f]{64}$")  # bytes live in Redis under this key


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ChatMessage(Message_):
    role: Literal["system", "user", "assistant"]
    content: str | list[ContentPart]

    def image_refs(self) -> list[str]:
        if isinstance(self.content, str):
            return []
        return [p.ref for p in self.content if isinstance(p, ImagePart)]

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


class Sampling(Message_):
    temperature: float = Field(0.6, ge=0.0, le=2.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    top_k: int = Field(20, ge=0, le=1000)  # 0 = off
    min_p: float = Field(0.0, ge=0.0, le=1.0)
    max_tokens: int = Field(1024, ge=1, le=262_144)
    seed: int | None = Field(None, ge=0, le=2**63 - 1)


class Reasoning(Message_):
    mode: Literal["swireasoning", "thinking", "off"] = "thinking"
    alpha0: float = Field(1.0, ge=0.0, le=1.0)
    beta0: float = Field(0.7, ge=0.0, le=1.0)
    window: int = Field(512, ge=0, le=1_000_000)
    max_switch_count: int | None = Field(2, ge=1, le=1000)
    mixture_top_k: int | None = Field(None, ge=1, le=1_000_000)  # None = exact full-vocabulary mixture


class JobSpec(Message_):
    v: Literal[1] = PROTOCOL_VERSION
    id: str = Field(default_factory=lambda: uuid.uuid4().hex, pattern=r"^[0-9a-f]{32}$")
    model: str = Field(min_length=1, max_length=64)
    messages: list[ChatMessage] = Field(min_length=1, max_length=256)
    sampling: Sampling = Sampling()
    reasoning: Reasoning = Reasoning()
    client: str = Field("", max_length=128)
    ticket: int = Field(0, ge=0)  # place in the model's queue (0 = none)
    deadline: float = Field(default_factory=lambda: time.time() + 600.0)

    def image_refs(self) -> list[str]:
        return [ref for m in self.messages for ref in m.image_refs()]


# ---- events ----------------------------------------------------------------------------------


class Event_(Message_):
    v: Literal[1] = PROTOCOL_VERSION


class Queued(Event_):
    type: Literal["queued"] = "queued"
    position: int  # jobs waiting ahead of this one in the model's queue
    wait_s: float | None = None  # estimated seconds until it starts, from recent jobs


class Started(Event_):
    type: Literal["started"] = "started"
    worker: str
    backend: str


class ReasoningDelta(Event_):
    type: Literal["reasoning"] = "reasoning"
    delta: str
    latent: bool = False  # the model was fed a mixture of embeddings, not these tokens


class AnswerDelta(Event_):
    type: Literal["answer"] = "answer"
    delta: str


class Switch(Event_):
    type: Literal["switch"] = "switch"
    to: Literal["latent", "explicit"]
    step: int
    count: int  # latent -> explicit switches so far


class Stats(Event_):
    type: Literal["stats"] = "stats"
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    latent_steps: int = 0
    switches: int = 0
    ttft_ms: float = 0.0
    tokens_per_s: float = 0.0


FinishReason = Literal["stop", "length", "cancelled", "budget"]


class Done(Event_):
    type: Literal["done"] = "done"
    finish_reason: FinishReason


class Error(Event_):
    type: Literal["error"] = "error"
    code: str
    message: str  # English; the page says `key` with `params` in the visitor's language
    retryable: bool = False
    key: str = ""  # a key of worker.sentences.SENTENCES; "" for a sentence without one
    params: dict[str, str | int | float] = Field(default_factory=dict)


Event = Annotated[
    Queued | Started | ReasoningDelta | AnswerDelta | Switch | Stats | Done | Error,
    Field(discriminator="type"),
]
TERMINAL = ("done", "error")
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: bytes | str) -> Event:
    return EVENT_ADAPTER.validate_json(raw)


def error_event(exc: Exception) -> Error:
    """Map any exception to the event a user sees; unknown ones get a generic, non-leaky message."""
    from worker.errors import RioError

    if isinstance(exc, RioError):
        return Error(code=exc.code, message=exc.message, retryable=exc.retryable, key=exc.key, params=exc.params)
    return keyed_error("internal", "server_internal", retryable=True)


def keyed_error(code: str, key: str, *, retryable: bool, **params: str | int | float) -> Error:
    """An error event made here (not from a raised RioError): the sentence of `key`, in English and keyed."""
    return Error(code=code, message=english(key, params), retryable=retryable, key=key, params=params)


class ModelHealth(BaseModel):
    """What a worker last saw of a remote model (`model:<key>:health`, expires if no worker looks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = 1
    up: bool
    detail: str = ""


def health_key(model: str) -> str:
    return f"model:{model}:health"
