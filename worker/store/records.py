"""Conversations kept on purpose: share snapshots (immutable, no expiry), in Redis.

Keys:
    share:<id>        one `Snapshot` as JSON, written once (SET NX), never changed, never expires
    keep:img:<sha>    the bytes of an image some snapshot shows, the model's copy (content-addressed, no expiry)
    keep:show:<sha>   its copy for people (`worker.intake.images`), where that differs
    (battle votes: `worker.store.votes`)

Because shares never expire, each one is bounded (turns, images, bytes: `share_max_*`) and counted
against the client's shares per hour and the memory budget (`worker.limits.budgets`).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any, Literal

from pydantic import Field, ValidationError

from worker.errors import RioError, ShareNotFound, ShareTooLarge
from worker.intake.images import shown_key
from worker.limits.budgets import Budgets
from worker.ops.metrics import REFUSED
from worker.ops.settings import Settings
from worker.queue.protocol import Error, FinishReason, Message_, Reasoning, Sampling, Stats

SHARE_ID = re.compile(r"^[A-Za-z0-9_-]{24}$")  # 18 random bytes, base64url: 144 bits
Outcome = Literal["a", "b", "tie", "both_bad"]


class TurnRecord(Message_):
    user_text: str = ""
    image_refs: list[str] = Field(default_factory=list)
    job_id: str | None = None
    thinking: list[tuple[str, bool]] = Field(default_factory=list)  # (text, latent) stretches
    thinking_steps: list[int] = Field(default_factory=list)  # reasoning events per stretch (the timeline)
    answer: str = ""
    answer_steps: int = 0
    stats: Stats | None = None
    error: Error | None = None
    finish: FinishReason | None = None
    switches: int = 0


class SideRecord(Message_):
    model: str
    label: str
    sampling: Sampling
    reasoning: Reasoning
    turns: list[TurnRecord] = Field(default_factory=list)


class Snapshot(Message_):
    """Everything a shared page shows: each side's messages, images (by ref), models, parameters, stats."""

    v: Literal[1] = 1
    kind: Literal["chat", "compare", "battle"]
    sides: list[SideRecord] = Field(min_length=1, max_length=2)
    created: float = Field(default_factory=time.time)
    vote: Outcome | None = None

    def image_refs(self) -> set[str]:
        return {ref for side in self.sides for turn in side.turns for ref in turn.image_refs}


class ShareStore:
    """Immutable snapshots by unguessable id; their images are kept as long as they are."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.redis = client
        self.settings = settings
        self.budgets = Budgets(client, self.settings)

    async def put(self, snapshot: Snapshot, *, client: str | None = None) -> str:
        """Store a snapshot and keep its images; refused plainly when too large, over the client's
        shares per hour, or past the memory budget."""
        body = snapshot.model_dump_json()
        self._check_size(snapshot, len(body))
        images = await self._images(snapshot)
        self._check_size(snapshot, len(body) + sum(len(d) for d in images.values()))
        await self.budgets.check_memory("share")
        await self.budgets.charge_share(client)
        for ref, data in images.items():
            await self.budgets.store("keep:" + ref, data, kind="shared_image")
        share_id = secrets.token_urlsafe(18)
        await self.budgets.store(f"share:{share_id}", body, kind="snapshot", nx=True)
        return share_id

    async def _images(self, snapshot: Snapshot) -> dict[str, bytes]:
        """Both copies of each image (model's, and people's where it differs), by the key they keep under."""
        images: dict[str, bytes] = {}
        for ref in snapshot.image_refs():
            data = await self.redis.get(ref) or await self.redis.get("keep:" + ref)
            if data is None:
                raise RioError("share_image_expired")
            images[ref] = bytes(data)
            shown = await self.redis.get(shown_key(ref)) or await self.redis.get("keep:" + shown_key(ref))
            if shown is not None:
                images[shown_key(ref)] = bytes(shown)
        return images

    def _check_size(self, snapshot: Snapshot, nbytes: int) -> None:
        s = self.settings
        turns = max(len(side.turns) for side in snapshot.sides)
        images = len(snapshot.image_refs())
        error = None
        if turns > s.share_max_turns:
            error = ShareTooLarge("share_too_large_turns", turns=turns, limit=s.share_max_turns)
        elif images > s.share_max_images:
            error = ShareTooLarge("share_too_large_images", images=images, limit=s.share_max_images)
        elif nbytes > s.share_max_mb * 1024 * 1024:
            error = ShareTooLarge("share_too_large_bytes", mb=nbytes / 1e6, limit=s.share_max_mb)
        if error is not None:
            REFUSED.labels("share_size").inc()
            raise error

    async def get(self, share_id: str) -> Snapshot:
        if not SHARE_ID.match(share_id or ""):
            raise ShareNotFound("share_malformed")
        raw = await self.redis.get(f"share:{share_id}")
        if raw is None:
            raise ShareNotFound("share_unknown")
        try:
            return Snapshot.model_validate_json(raw)
        except ValidationError as exc:
            raise ShareNotFound("share_unreadable") from exc

    async def image(self, ref: str) -> bytes:
        data = await self.redis.get("keep:" + ref)
        if data is None:
            raise ShareNotFound("share_image_missing")
        return bytes(data)

    async def shown_image(self, ref: str) -> bytes:
        """The copy of a shared image people see (the model's copy where there is no other)."""
        data = await self.redis.get("keep:" + shown_key(ref))
        return bytes(data) if data is not None else await self.image(ref)

    async def revive_images(self, snapshot: Snapshot) -> None:
        """Make a snapshot's images readable by workers again (continuing a shared chat)."""
        for ref in snapshot.image_refs():
            data = await self.image(ref)
            await self.redis.set(ref, data, ex=self.settings.image_ttl_s)
            shown = await self.redis.get("keep:" + shown_key(ref))
            if shown is not None:
                await self.redis.set(shown_key(ref), shown, ex=self.settings.image_ttl_s)
