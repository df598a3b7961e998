"""Feedback on answers (👍/👎, an optional reason and comment), kept with the conversation it rates.

Keys:
    feedback:<id>     one `Feedback` as JSON; rewritten when the visitor adds a reason or changes the rating
    feedback:by_time  sorted set of ids by the time each was first given (the export reads a period of it)

Each new rating is charged to the client's feedback per hour and checked against the memory budget
(`worker.limits.budgets`); a comment is bounded by `feedback_max_chars`. Nothing identifies the visitor.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

from pydantic import Field

from worker.errors import FeedbackTooLong
from worker.limits.budgets import Budgets
from worker.ops.metrics import FEEDBACK, REFUSED
from worker.ops.settings import Settings
from worker.queue.protocol import Message_
from worker.store.records import SideRecord

Rating = Literal["up", "down"]
View = Literal["chat", "compare", "shared"]
REASONS = ("correct", "helpful", "well_reasoned", "wrong", "unhelpful", "unsafe", "bad_language", "other")
Reason = Literal["correct", "helpful", "well_reasoned", "wrong", "unhelpful", "unsafe", "bad_language", "other"]
BY_TIME = "feedback:by_time"


class Feedback(Message_):
    """One visitor's rating of one answer, with the conversation up to and including it."""

    v: Literal[1] = 1
    id: str = Field(default_factory=lambda: secrets.token_urlsafe(12))
    view: View
    share_id: str | None = None  # the shared conversation it was given on
    side: int = 0  # 0: chat or side A; 1: side B
    turn: int  # the rated answer's turn in `conversation`
    job_id: str | None = None
    rating: Rating
    reason: Reason | None = None
    comment: str = ""
    conversation: SideRecord
    time: float = Field(default_factory=time.time)

    @property
    def model(self) -> str:
        return self.conversation.model


class FeedbackStore:
    def __init__(self, client: Any, settings: Settings) -> None:
        self.redis = client
        self.settings = settings
        self.budgets = Budgets(client, settings)

    async def put(self, feedback: Feedback, *, client: str | None = None) -> Feedback:
        """Store a new rating, or a change to one (same id: reason, comment, rating); refused plainly past
        the client's feedback per hour, the memory budget or the comment's length."""
        if len(feedback.comment) > self.settings.feedback_max_chars:
            REFUSED.labels("feedback_size").inc()
            raise FeedbackTooLong(
                "feedback_too_long", length=len(feedback.comment), limit=self.settings.feedback_max_chars
            )
        before = await self.get(feedback.id)
        if before is None:
            await self.budgets.check_memory("feedback")
            await self.budgets.charge_feedback(client)
        await self.budgets.store(f"feedback:{feedback.id}", feedback.model_dump_json(), kind="feedback")
        await self.redis.zadd(BY_TIME, {feedback.id: before.time if before else feedback.time})
        if before is None or before.rating != feedback.rating:
            FEEDBACK.labels(feedback.model, feedback.rating).inc()
        return feedback

    async def get(self, feedback_id: str) -> Feedback | None:
        raw = await self.redis.get(f"feedback:{feedback_id}")
        return Feedback.model_validate_json(raw) if raw is not None else None

    async def remove(self, feedback_id: str) -> None:
        """A rating taken back (the visitor clicked its thumb again)."""
        await self.redis.delete(f"feedback:{feedback_id}")
        await self.redis.zrem(BY_TIME, feedback_id)
