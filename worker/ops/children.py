"""Child processes that never outlive their parent (the worker supervisor's Celery child, the Space's
Redis and worker)."""

from __future__ import annotations

import ctypes
import signal


def die_with_parent() -> None:
    """`preexec_fn` of a child: the kernel sends it SIGTERM when its parent dies, even by SIGKILL."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
