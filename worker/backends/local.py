"""The local engine: a transformers model in the worker process, driven by `swireasoning.batcher`.

Loaded once per worker process, on the GPU when there is one (bf16). Concurrent jobs share one
decode loop (continuous batching; a captured static-cache step for plain-attention models such as
Qwen3). Serves text and images (Qwen3.5's PIL image processor; no torchvision), streams thinking
apart from the answer, and runs SwiReasoning when a job asks.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch
from PIL import Image

from swireasoning.batcher import BatchEngine, EagerRows, Request, Rows, StaticRows
from swireasoning.controller import SwiRConfig, SwiRParams
from swireasoning.decode import PromptBatch, SamplingParams, Step
from swireasoning.hf import swir_config
from swireasoning.progress import TO
from swireasoning.static_decode import static_unsupported
from worker.backends.base import JobContext
from worker.backends.detok import IncrementalText
from worker.errors import ImageError, InputError, PromptTooLong
from worker.queue.protocol import (
    AnswerDelta,
    ChatMessage,
    Done,
    Event,
    FinishReason,
    JobSpec,
    ReasoningDelta,
    Started,
    Stats,
    Switch,
)

log = logging.getLogger(__name__)
IMAGE_PAD = "<|image_pad|>"


def chat_dicts(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """JobSpec messages -> the dicts chat templates expect (images as `{"type": "image"}`)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if isinstance(m.content, str):
            out.append({"role": m.role, "content": m.content})
        else:
            parts = [{"type": "text", "text": p.text} if p.type == "text" else {"type": "image"} for p in m.content]
            out.append({"role": m.role, "content": parts})
    return out


@dataclass
class LocalEngine:
    model: Any  # a transformers PreTrainedModel
    tokenizer: Any
    image_processor: Any | None

    @property
    def device(self) -> torch.device:
        return self.model.get_input_embeddings().weight.device

    @classmethod
    def load(cls, source: str, device: str = "auto") -> LocalEngine:
        from transformers import (
            AutoConfig,
            AutoImageProcessor,
            AutoModelForCausalLM,
            AutoModelForImageTextToText,
            AutoTokenizer,
        )

        config = AutoConfig.from_pretrained(source)
        vision = hasattr(config, "vision_config")
        loader = AutoModelForImageTextToText if vision else AutoModelForCausalLM
        where = torch.device(resolve_device(device))
        dtype: Any = torch.bfloat16 if where.type == "cuda" else "auto"
        model: Any = loader.from_pretrained(source, dtype=dtype)
        model = model.to(where).eval()
        processor = AutoImageProcessor.from_pretrained(source) if vision else None
        log.info("loaded %s (%s, images=%s) on %s", source, type(model).__name__, vision, where)
        return cls(model, AutoTokenizer.from_pretrained(source), processor)

    @cached_property
    def eos_ids(self) -> tuple[int, ...]:
        ids = self.model.generation_config.eos_token_id
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        return tuple(sorted({*ids, self.tokenizer.eos_token_id}))

    @cached_property
    def end_think_id(self) -> int:
        return int(self.tokenizer.convert_tokens_to_ids("</think>"))

    @cached_property
    def swir_base(self) -> SwiRConfig:
        return swir_config(self.tokenizer, self.eos_ids)

    def render(self, messages: list[ChatMessage], enable_thinking: bool) -> str:
        return self.tokenizer.apply_chat_template(
            chat_dicts(messages), tokenize=False, add_generation_prompt=True, enable_thinking=enable_thinking
        )

    def encode(self, texts: list[str], images: list[list[Any]]) -> PromptBatch:
        """Left-padded batch; each `<|image_pad|>` expands to its image's merged patch count."""
        rows, vision = [], {}
        flat = [img for row in images for img in row]
        if flat:
            if self.image_processor is None:
                raise InputError("no_images_accepted")
            try:
                vision = dict(self.image_processor(images=flat, return_tensors="pt"))
            except ValueError as exc:  # the processor refusing an image is the user's input, not our fault
                raise ImageError("image_processor", detail=str(exc)) from exc
            texts = self._expand_pads(texts, images, vision["image_grid_thw"])
        for text in texts:
            rows.append(self.tokenizer.encode(text, add_special_tokens=False))
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows])
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
        return self._positions(input_ids, mask, vision)

    def _expand_pads(self, texts: list[str], images: list[list[Any]], grid: torch.Tensor) -> list[str]:
        merge = int(getattr(self.image_processor, "merge_size", 2)) ** 2
        counts = iter((grid.prod(-1) // merge).tolist())
        out = []
        for text, row in zip(texts, images, strict=True):
            pieces = text.split(IMAGE_PAD)
            if len(pieces) - 1 != len(row):
                raise InputError("image_count_mismatch")
            out.append(pieces[0] + "".join(IMAGE_PAD * next(counts) + p for p in pieces[1:]))
        return out

    def _positions(self, input_ids: torch.Tensor, mask: torch.Tensor, vision: dict) -> PromptBatch:
        inner: Any = getattr(self.model, "model", None)
        if hasattr(inner, "get_rope_index"):
            image_token = self.model.config.image_token_id
            mm_types = (input_ids == image_token).int()
            position_ids, _ = inner.get_rope_index(
                input_ids, mm_token_type_ids=mm_types, image_grid_thw=vision.get("image_grid_thw"), attention_mask=mask
            )
            if vision:
                vision["mm_token_type_ids"] = mm_types
            next_position = position_ids.amax(dim=(0, 2)) + 1
        else:
            position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
            next_position = position_ids[:, -1] + 1
        return on_device(PromptBatch(input_ids, mask, position_ids, next_position, vision), self.device)


def resolve_device(device: str) -> str:
    """`auto`: the first CUDA device when there is one, else the CPU; else as given (cpu, cuda:N)."""
    if device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    return device


def on_device(batch: PromptBatch, device: torch.device) -> PromptBatch:
    """The prompt batch, images included, on the model's device."""
    return PromptBatch(
        batch.input_ids.to(device),
        batch.attention_mask.to(device),
        batch.position_ids.to(device),
        batch.next_position.to(device),
        {k: v.to(device) for k, v in batch.vision.items()},
    )


class TokenEvents:
    """Turns one row's decode steps into protocol events: thinking until `</think>`, then the answer."""

    def __init__(self, engine: LocalEngine, thinking: bool) -> None:
        self.engine = engine
        self.in_thinking = thinking
        self.thinking_text = IncrementalText(engine.tokenizer)
        self.answer_text = IncrementalText(engine.tokenizer)
        self.answer_started = False
        self.tokens = self.reasoning_tokens = self.latent_steps = self.switches = 0

    def push(self, step: Step, row: int, index: int) -> Iterator[Event]:
        token = int(step.ids[row])
        self.tokens += 1
        switched = int(step.switched_to[row])
        if switched:
            self.switches = int(step.switch_count[row])
            yield Switch(to=TO[switched], step=index, count=self.switches)
        if self.in_thinking:
            self.reasoning_tokens += 1
            latent = bool(step.latent[row])
            self.latent_steps += latent
            if token == self.engine.end_think_id:
                self.in_thinking = False
                return
            if delta := self.thinking_text.push(token):
                yield ReasoningDelta(delta=delta, latent=latent)
            return
        delta = self.answer_text.push(token)
        if not self.answer_started:
            delta = delta.lstrip("\n")
            self.answer_started = bool(delta)
        if delta:
            yield AnswerDelta(delta=delta)


def engine_rows(engine: LocalEngine, capacity: int, max_len: int, compile: bool) -> Rows:
    """Static-cache rows where the model's architecture allows, else interleaved eager rows."""
    reason = static_unsupported(engine.model)
    if reason is None:
        rows = StaticRows(engine.model, engine.eos_ids, engine.swir_base, capacity, max_len + 2, compile=compile)
        rows.warm()
        return rows
    log.info("local engine: eager decode loop (%s)", reason)
    return EagerRows(engine.model, engine.eos_ids, engine.swir_base, capacity)


class LocalBackend:
    name = "local"

    def __init__(self, engine: LocalEngine, context_limit: int, batch: int = 8, compile: bool = True) -> None:
        self.engine = engine
        self.context_limit = context_limit
        self.loop = BatchEngine(engine_rows(engine, batch, context_limit, compile))

    def _prompt(self, job: JobSpec, ctx: JobContext) -> PromptBatch:
        text = self.engine.render(job.messages, enable_thinking=job.reasoning.mode != "off")
        images = [Image.open(io.BytesIO(ctx.load_image(ref))) for ref in job.image_refs()]
        batch = self.engine.encode([text], [images])
        if batch.input_ids.shape[1] + 1 > self.context_limit:
            raise PromptTooLong(
                "prompt_too_long_tokens", tokens=int(batch.input_ids.shape[1]), limit=self.context_limit
            )
        return batch

    def _request(self, job: JobSpec, batch: PromptBatch) -> Request:
        s, r = job.sampling, job.reasoning
        max_new = min(s.max_tokens, self.context_limit - batch.input_ids.shape[1])
        seed = s.seed if s.seed is not None else int(time.time_ns() % 2**63)
        return Request(
            prompt=batch,
            sampling=SamplingParams(s.temperature, s.top_p, s.top_k, s.min_p),
            max_new_tokens=max_new,
            generator=torch.Generator(device=self.engine.device).manual_seed(seed),
            swir=SwiRParams.of(r.model_dump()) if r.mode == "swireasoning" else None,
        )

    def execute(self, job: JobSpec, ctx: JobContext) -> Generator[Event, None, None]:
        yield Started(worker=ctx.worker, backend=self.name)
        t0 = time.perf_counter()
        batch = self._prompt(job, ctx)
        events = TokenEvents(self.engine, thinking=job.reasoning.mode != "off")
        first_token_at: float | None = None
        finish: FinishReason = "length"
        ticket = self.loop.submit(self._request(job, batch))
        try:
            for index, step in enumerate(ticket):
                first_token_at = first_token_at or time.perf_counter()
                yield from events.push(step, 0, index)
                if bool(step.finished[0]):
                    finish = "budget" if bool(step.budget_hit[0]) else "stop"
        finally:
            ticket.cancel()  # closing this generator (Stop, deadline) frees the row before the next step
        decode_s = time.perf_counter() - (first_token_at or t0)
        yield Stats(
            prompt_tokens=int(batch.attention_mask.sum()),
            completion_tokens=events.tokens,
            reasoning_tokens=events.reasoning_tokens,
            latent_steps=events.latent_steps,
            switches=events.switches,
            ttft_ms=((first_token_at or t0) - t0) * 1000,
            tokens_per_s=(events.tokens - 1) / decode_s if events.tokens > 1 and decode_s > 0 else 0.0,
        )
        yield Done(finish_reason=finish)
