"""Every battle vote as JSON Lines, for operators to audit and publish: voter hashes (never addresses),
the sides and their models, the outcome, the time, and for a vote the leaderboard does not count,
`excluded` and `reason`. `python -m worker.export votes` runs it."""

from __future__ import annotations

import json
from typing import Any, TextIO

from worker.store.votes import Vote


def export_votes(client: Any, out: TextIO) -> int:
    """Write one JSON object per vote (sync Redis client), oldest first; returns how many."""
    n = 0
    for raw in client.lrange("votes", 0, -1):
        vote = Vote.model_validate_json(raw)
        out.write(json.dumps({**vote.model_dump(mode="json"), "counted": vote.counted}, ensure_ascii=False) + "\n")
        n += 1
    return n
