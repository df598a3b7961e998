"""The web's one door into `worker/`: everything `demo/` may use, and nothing else (its `__all__` is
the contract; `tests/unit/test_boundaries.py` checks that `demo/` imports no other module of `worker/`).

Importing it builds no Celery app and imports no backend, torch or transformers.
"""

from __future__ import annotations

from worker.errors import BackendUnavailable, RioError, ServiceUnavailable, VoteRefused
from worker.intake.validation import check_message, job_spec
from worker.limits.identity import ADDRESS, USER
from worker.models import ModelEntry, available, default_pair
from worker.ops.metrics import ACTIVE, REJECTED
from worker.ops.metrics import serve as serve_metrics
from worker.ops.settings import Settings
from worker.queue.client import JobClient
from worker.queue.protocol import (
    ChatMessage,
    Error,
    Event,
    ImagePart,
    JobSpec,
    ModelHealth,
    Reasoning,
    Sampling,
    Stats,
    TextPart,
    error_event,
    keyed_error,
)
from worker.sentences import SENTENCES, WORDS, placeholders
from worker.store.dataset import start_dataset_push
from worker.store.feedback import REASONS, Feedback, Rating
from worker.store.records import Outcome, SideRecord, Snapshot, TurnRecord
from worker.store.votes import Vote, Voter

__all__ = [
    "ACTIVE",
    "ADDRESS",
    "REASONS",
    "REJECTED",
    "SENTENCES",
    "USER",
    "WORDS",
    "BackendUnavailable",
    "ChatMessage",
    "Error",
    "Event",
    "Feedback",
    "ImagePart",
    "JobClient",
    "JobSpec",
    "ModelEntry",
    "ModelHealth",
    "Outcome",
    "Rating",
    "Reasoning",
    "RioError",
    "Sampling",
    "ServiceUnavailable",
    "Settings",
    "SideRecord",
    "Snapshot",
    "Stats",
    "TextPart",
    "TurnRecord",
    "Vote",
    "VoteRefused",
    "Voter",
    "available",
    "check_message",
    "default_pair",
    "error_event",
    "job_spec",
    "keyed_error",
    "placeholders",
    "serve_metrics",
    "start_dataset_push",
]
