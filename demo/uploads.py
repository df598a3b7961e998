"""The web's copies of stored images on disk (Gradio serves the page's images from files): they expire
with their Redis keys, so the disk holds at most what Redis holds."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def prune(directory: Path, max_age_s: float, now: float) -> int:
    """Delete copies not written or shown for `max_age_s`; returns how many went."""
    removed = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file() and now - entry.stat().st_mtime > max_age_s:
                with contextlib.suppress(FileNotFoundError):  # another web process pruned it first
                    os.unlink(entry.path)
                    removed += 1
    if removed:
        log.info("pruned %d expired image copies from %s", removed, directory)
    return removed
