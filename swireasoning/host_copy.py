"""A small device tensor copied to the host without waiting: read it later, after work queued since."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class HostCopy:
    """A small device tensor on its way to the host, copied before the next step is queued so that
    waiting for it does not wait for that step: the host prepares the following step meanwhile."""

    def __init__(self, t: Tensor) -> None:
        self.event: Any = None
        if t.is_cuda:
            self.host = torch.empty(t.shape, dtype=t.dtype, pin_memory=True)
            self.host.copy_(t, non_blocking=True)
            self.event = torch.cuda.Event()
            self.event.record()
        else:
            self.host = t

    def get(self) -> Tensor:
        if self.event is not None:
            self.event.synchronize()
        return self.host
