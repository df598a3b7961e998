"""Chat handlers: widget values -> a job; job events -> chat messages, on a render cadence."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from demo.session import ChatSession, Turn
from worker.jobs import Error, JobClient, Reasoning, RioError, Sampling

log = logging.getLogger(__name__)
RENDER_EVERY_S = 0.05  # coalesce tokens: at most one page update per stream per 50 ms


@dataclass(frozen=True)
class Params:
    model: str
    mode: Literal["swireasoning", "thinking", "off"]
    temperature: float
    top_p: float
    top_k: int
    max_tokens: int
    seed: int | None
    max_switch_count: int | None
    alpha0: float
    window: int

    def sampling(self) -> Sampling:
        return Sampling(
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            max_tokens=self.max_tokens,
            seed=self.seed,
        )

    def reasoning(self) -> Reasoning:
        return Reasoning(mode=self.mode, max_switch_count=self.max_switch_count, alpha0=self.alpha0, window=self.window)


class ChatService:
    """What the page does with jobs: add a turn, stream it, stop it. No Gradio in here."""

    def __init__(self, client: JobClient, upload_dir: Path) -> None:
        self.client = client
        self.upload_dir = upload_dir
        upload_dir.mkdir(parents=True, exist_ok=True)

    async def new_turn(self, text: str, files: list[str]) -> Turn:
        """Validate and store the user's input; raises RioError with a message for the page."""
        s = self.client.settings
        if not text.strip() and not files:
            raise RioError("Type a message or attach an image.")
        if len(text) > s.max_prompt_chars:
            raise RioError(f"The message is {len(text):,} characters; the limit is {s.max_prompt_chars:,}.")
        if len(files) > s.max_images:
            raise RioError(f"{len(files)} images attached; the limit is {s.max_images} per message.")
        turn = Turn(user_text=text.strip())
        for path in files:
            ref, clean = await self.client.images.put(Path(path).read_bytes())
            shown = self.upload_dir / f"{hashlib.sha256(clean).hexdigest()}.png"
            shown.write_bytes(clean)
            turn.image_refs.append(ref)
            turn.image_paths.append(str(shown))
        return turn

    async def run(self, session: ChatSession, params: Params, client_id: str) -> AsyncIterator[None]:
        """Submit the last turn and fold its events in; yields whenever the page should re-render."""
        turn = session.turns[-1]
        down = await self.down_detail(params.model)
        if down is not None:
            message = f"This model is down right now ({down}). Try another model or retry soon."
            turn.apply(Error(code="backend_unavailable", message=message, retryable=True))
            yield None
            return
        spec = session.spec_for_last(params.model, params.sampling(), params.reasoning(), client_id)
        turn.job_id = spec.id
        await self.client.submit(spec)
        yield None
        last = 0.0
        async for event in self.client.events(spec.id):
            turn.apply(event)
            now = time.monotonic()
            if now - last >= RENDER_EVERY_S or event.type in ("started", "done", "error"):
                last = now
                yield None

    async def down_detail(self, model: str) -> str | None:
        """Why a remote model is down, as its workers last reported; None when up or unknown."""
        health = await self.client.health(model)
        return health.detail if health is not None and not health.up else None

    async def down_note(self, model: str) -> str:
        down = await self.down_detail(model)
        return f"⚠️ This model is down right now: {down}." if down is not None else ""

    async def stop(self, session: ChatSession) -> None:
        if session.turns and session.turns[-1].running:
            await self.client.cancel(session.turns[-1].job_id or "")


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
