"""SwiReasoning for an engine that batches requests started at different times (SGLang's scheduler).

`SwiRTable` gives each SwiReasoning request a slot in one `SwiRController`, steps the rows of a batch
in place, and says per row what the engine must do next: which id to emit (forced or EOS at the end
of the answer budget), and which requests need a mixture as their next input. No engine in here:
the SGLang plugin calls it with tensors, and tests call it on the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import torch
from torch import Tensor

from swireasoning.controller import Directive, SwiRConfig, SwiRParams
from swireasoning.fused import FusedSwiRController
from swireasoning.host_copy import HostCopy
from swireasoning.slots import SlotTable


def to_device(values: list[int], device: torch.device | str) -> Tensor:
    """A host list as a device tensor without a host sync (a pageable copy would wait for the GPU)."""
    host = torch.tensor(values, dtype=torch.long)
    if torch.device(device).type != "cuda":
        return host.to(device)
    return host.pin_memory().to(device, non_blocking=True)


def info_of(d: Directive) -> Tensor:
    """[b, 4] int32: latent, switched_to, switch count, feed_mixture (the fused step writes it)."""
    if d.info is not None:
        return d.info
    return torch.stack([d.latent, d.switched_to, d.switch_count, d.feed_mixture], dim=1).to(torch.int32)


class StepInfo(Sequence):
    """Per engine row [latent, switched_to, switch count] for SwiReasoning rows, None for others.

    The step's one device-to-host copy starts at once without waiting; the values are read when
    SGLang reads the step's outputs, after its own sync on the next token ids, so it adds none."""

    def __init__(self, info: Tensor, positions: list[int], batch_size: int) -> None:
        self._positions, self._size = positions, batch_size
        self._copy = HostCopy(info)
        self._rows: list[list[int] | None] | None = None

    def _values(self) -> list[list[int] | None]:
        if self._rows is None:
            rows: list[list[int] | None] = [None] * self._size
            for position, value in zip(self._positions, self._copy.get()[:, :3].tolist(), strict=True):
                rows[position] = value
            self._rows = rows
        return self._rows

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, i: int) -> list[int] | None: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[list[int] | None]: ...
    def __getitem__(self, i: int | slice) -> Any:
        return self._values()[i]


@dataclass
class RowOutcome:
    """What one step decided for the SwiReasoning rows of a batch ([r] each, r = such rows)."""

    positions: list[int]  # row indices in the engine's batch
    rids: list[str]
    ids: Tensor  # the ids to emit (forced ones; EOS where the answer budget ran out)
    directive: Directive  # mixtures for rows whose next input is not a token
    index: Tensor | None = None  # `positions` on the device (None: every row of the batch, in order)
    slots: Tensor | None = None  # the rows' controller slots, on the device

    def step_info(self, batch_size: int) -> StepInfo:
        """Per engine row, [latent, switched_to (as `Directive.switched_to`), switch count] for
        SwiReasoning rows and None for the others: one token's entry in the response's meta info.
        One device-to-host copy for the whole batch, read only when SGLang reads the step."""
        return StepInfo(info_of(self.directive), self.positions, batch_size)


@dataclass
class SwiRTable:
    cfg: SwiRConfig
    capacity: int = 4096
    device: torch.device | str = "cpu"
    prompt_lens: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.slots: SlotTable[str] = SlotTable(self.capacity)
        # one slot past the requests' (`scratch`): a captured step's warm-up runs there
        self.scratch = self.capacity
        self.controller = FusedSwiRController(self.cfg, self.capacity + 1, self.device)
        # per slot: was this request ever fed a mixture (its KV then holds mixture positions)?
        self.ever_fed = torch.zeros(self.capacity + 1, dtype=torch.bool, device=self.device)

    def was_latent(self, rid: str) -> bool:
        """Read at release only (a host sync, outside the decode step)."""
        slot = self.slots.get(rid)
        return slot is not None and bool(self.ever_fed[slot])

    @property
    def latent_seen(self) -> set[str]:
        fed = self.ever_fed.tolist()
        return {rid for rid, slot in self.slots.items() if fed[slot]}

    def admit(self, rid: str, params: SwiRParams, max_new_tokens: int, prompt_len: int = 0) -> None:
        """A new request asked for SwiReasoning (`params`: from its custom_params)."""
        if rid in self.slots:
            return
        slot = self.slots.take(rid)
        if slot is None:
            return
        self.prompt_lens[rid] = prompt_len
        rows = torch.tensor([slot], device=self.device)
        self.controller.reset(rows, max_new_tokens=max_new_tokens, **params.overrides())
        self.ever_fed[rows] = False

    def release(self, rid: str) -> None:
        self.slots.release(rid)
        self.prompt_lens.pop(rid, None)

    def positions(self, rids: list[str], extended_to: list[int] | None = None) -> list[int]:
        """The batch rows this table steps. `extended_to` (prefill batches): how far each row's prompt
        has been run; a row still inside its prompt (a chunk of a chunked prefill) samples a token the
        engine discards, so it is skipped."""
        return [
            i
            for i, rid in enumerate(rids)
            if rid in self.slots and (extended_to is None or extended_to[i] >= self.prompt_lens[rid])
        ]

    def step(
        self, rids: list[str], raw_logits: Tensor, sampled: Tensor, extended_to: list[int] | None = None
    ) -> RowOutcome | None:
        """raw_logits: [B, V] before penalties/temperature; sampled: [B] the engine's ids."""
        positions = self.positions(rids, extended_to)
        if not positions:
            return None
        mine = [rids[i] for i in positions]
        index = None if len(positions) == len(rids) else to_device(positions, raw_logits.device)
        slots = to_device([self.slots[r] for r in mine], self.device)
        logits, ids = (raw_logits, sampled) if index is None else (raw_logits[index], sampled[index])
        d = self.controller.step(logits, ids, rows=slots)
        self.ever_fed[slots] = self.ever_fed[slots] | d.feed_mixture
        ids = torch.where(d.budget_hit, self.cfg.eos_ids[0], d.ids)
        return RowOutcome(positions, mine, ids, d, index, slots)
