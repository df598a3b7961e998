"""The Space way to publish what the demo keeps: a Hugging Face dataset repository, pushed on a schedule.

With `RIO_DATASET_REPO` and `HF_TOKEN` set, the web process runs one `huggingface_hub.CommitScheduler`
on `<var_dir>/dataset`: before each push (every `dataset_every_min` minutes) it writes the records of
the last two UTC days as JSON Lines, one file per kind and day (`feedback/2026-12-02.jsonl`, `votes/...`,
`shares/...`), and the scheduler uploads the files that changed. Without both, nothing is scheduled.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from worker.ops.settings import Settings
from worker.store.export_records import EXPORTERS, Record

log = logging.getLogger(__name__)
DAY_S = 86_400
TIME_FIELD = {"shares": "created", "votes": "time", "feedback": "time"}


@dataclass(frozen=True)
class DatasetPush:
    """Where and how often the records go (built from the settings; nothing reached yet)."""

    repo_id: str
    folder: Path
    every_min: float
    token: str


def dataset_push(settings: Settings) -> DatasetPush | None:
    """The push this deployment asks for, or None without both a repository and a token."""
    if not settings.dataset_repo or not settings.hf_token:
        return None
    folder = (settings.var_dir / "dataset").resolve()
    return DatasetPush(settings.dataset_repo, folder, settings.dataset_every_min, settings.hf_token)


def write_days(client: Any, folder: Path, now: float) -> int:
    """Rewrite each kind's files for yesterday and today (UTC) from Redis; returns the records written."""
    since = (now // DAY_S - 1) * DAY_S
    written = 0
    for kind, export in EXPORTERS.items():
        days: dict[str, list[Record]] = defaultdict(list)
        for record in export(client, since, float("inf")):
            day = dt.datetime.fromtimestamp(record[TIME_FIELD[kind]], dt.UTC).date().isoformat()
            days[day].append(record)
        for day, records in days.items():
            path = folder / kind / f"{day}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{json_line(r)}\n" for r in records), encoding="utf-8")
            written += len(records)
    return written


def json_line(record: Record) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def start_dataset_push(settings: Settings, push: DatasetPush | None = None) -> Any | None:
    """Start the scheduled push (a daemon thread of huggingface_hub) if configured; None otherwise, or
    when the Hub cannot be reached at start (logged: the page works without it)."""
    push = push or dataset_push(settings)
    if push is None:
        return None
    folder = push.folder
    from huggingface_hub import CommitScheduler  # only where a push is configured

    class RecordsScheduler(CommitScheduler):
        def push_to_hub(self) -> Any:
            with self.lock:  # the scheduler uploads nothing half-written
                write_days(redis.Redis.from_url(settings.redis_url), folder, time.time())
            return super().push_to_hub()

    push.folder.mkdir(parents=True, exist_ok=True)
    try:
        return RecordsScheduler(repo_id=push.repo_id, repo_type="dataset", folder_path=push.folder,
                                every=push.every_min, token=push.token)  # fmt: skip
    except Exception as exc:  # huggingface_hub's HTTP and offline errors have no common base of their own
        log.warning("dataset push to %s not started: %s", push.repo_id, exc)
        return None
