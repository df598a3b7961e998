"""The compile fallback: a function compiled with `torch.compile`, run eagerly for good once the
compiled form fails (compiling, autotuning or capturing it). A compiler failure costs speed, not
the answer. The one place that decides this, for the captured decode step and the controller step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import torch

log = logging.getLogger(__name__)
T = TypeVar("T")


class CompileFallback:
    """`fn` compiled (when `compile`; `torch.compile` options as keywords), else or after a failure
    `eager` (default: `fn` itself)."""

    def __init__(self, fn: Callable[..., Any], what: str, *, compile: bool = True,
                 eager: Callable[..., Any] | None = None, **options: Any) -> None:  # fmt: skip
        self.what = what
        self.eager = eager or fn
        self.fn: Callable[..., Any] = torch.compile(fn, **options) if compile else self.eager

    @property
    def compiled(self) -> bool:
        return self.fn is not self.eager

    def __call__(self, *args: Any) -> Any:
        return self.attempt(lambda fn: fn(*args))

    def attempt(self, use: Callable[[Callable[..., Any]], T]) -> T:
        """`use(fn)`; if the compiled `fn` fails, the eager one from then on and `use` again with it.
        `use` must leave nothing half done when it fails (compiling fails before the function runs;
        a failed warm-up or capture is simply made again)."""
        if self.compiled:
            try:
                return use(self.fn)
            except Exception:
                log.exception("compiling %s failed; running it eagerly", self.what)
                self.fn = self.eager
        return use(self.fn)
