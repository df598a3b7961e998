"""What the service kept on purpose, as JSON-serialisable dicts for a period [since, until) of Unix time:
share snapshots, battle votes and answer feedback. Read with a synchronous Redis client (the export
command, the dataset push); each function yields records oldest first."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydantic import ValidationError

from worker.store.feedback import BY_TIME, Feedback
from worker.store.records import SHARE_ID, Snapshot
from worker.store.votes import Vote

Record = dict[str, Any]
Exporter = Callable[[Any, float, float], Iterator[Record]]


def export_shares(redis: Any, since: float, until: float) -> Iterator[Record]:
    """Every share snapshot created in the period, with its id (images by reference)."""
    found = []
    for key in redis.scan_iter(match="share:*", count=500):
        share_id = key.decode().removeprefix("share:")
        raw = redis.get(key)
        if not SHARE_ID.match(share_id) or raw is None:
            continue
        try:
            snapshot = Snapshot.model_validate_json(raw)
        except ValidationError:
            continue  # a format this version cannot read: left out rather than guessed at
        if since <= snapshot.created < until:
            found.append({"share_id": share_id, **snapshot.model_dump(mode="json")})
    yield from sorted(found, key=lambda r: r["created"])


def export_votes(redis: Any, since: float, until: float) -> Iterator[Record]:
    """Battle votes cast in the period (the list is append-only, so already in time order)."""
    for raw in redis.lrange("votes", 0, -1):
        vote = Vote.model_validate_json(raw)
        if since <= vote.time < until:
            yield {**vote.model_dump(mode="json"), "counted": vote.counted}  # with voter hash, exclusion, reason


def export_feedback(redis: Any, since: float, until: float) -> Iterator[Record]:
    """Feedback first given in the period, as last changed (reason, comment), with its conversation."""
    for feedback_id in redis.zrangebyscore(BY_TIME, since, f"({until}"):
        raw = redis.get(f"feedback:{feedback_id.decode()}")
        if raw is not None:
            yield Feedback.model_validate_json(raw).model_dump(mode="json")


EXPORTERS: dict[str, Exporter] = {"shares": export_shares, "votes": export_votes, "feedback": export_feedback}
