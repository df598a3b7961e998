"""SwiReasoning for an engine that batches requests started at different times (SGLang's scheduler).

`SwiRTable` gives each SwiReasoning request a slot in one `SwiRController`, steps the rows of a batch
in place, and says per row what the engine must do next: which id to emit (forced or EOS at the end
of the answer budget), and which requests need a mixture as their next input. No engine in here:
the SGLang plugin calls it with tensors, and tests call it on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from swireasoning.controller import Directive, SwiRConfig, SwiRController

PARAM_KEYS = ("alpha0", "beta0", "window", "max_switch_count")


@dataclass
class RowOutcome:
    """What one step decided for the SwiReasoning rows of a batch ([r] each, r = such rows)."""

    positions: list[int]  # row indices in the engine's batch
    rids: list[str]
    ids: Tensor  # the ids to emit (forced ones; EOS where the answer budget ran out)
    directive: Directive  # mixtures for rows whose next input is not a token

    def step_info(self, batch_size: int) -> list[list[int] | None]:
        """Per engine row, [latent, switched_to (as `Directive.switched_to`), switch count] for
        SwiReasoning rows and None for the others: one token's entry in the response's meta info.
        One device-to-host copy for the whole batch."""
        d = self.directive
        values = torch.stack([d.latent.long(), d.switched_to.long(), d.switch_count.long()], dim=1).tolist()
        info: list[list[int] | None] = [None] * batch_size
        for position, value in zip(self.positions, values, strict=True):
            info[position] = value
        return info


@dataclass
class SwiRTable:
    cfg: SwiRConfig
    capacity: int = 4096
    device: torch.device | str = "cpu"
    slots: dict[str, int] = field(default_factory=dict)
    prompt_lens: dict[str, int] = field(default_factory=dict)
    latent_seen: set[str] = field(default_factory=set)  # requests whose KV now holds mixture positions

    def __post_init__(self) -> None:
        self.controller = SwiRController(self.cfg, self.capacity, self.device)
        self._free = list(range(self.capacity - 1, -1, -1))

    def admit(self, rid: str, params: dict[str, Any], max_new_tokens: int, prompt_len: int = 0) -> None:
        """A new request asked for SwiReasoning (`params`: flat custom_params, see `worker` side)."""
        if rid in self.slots or not self._free:
            return
        slot = self._free.pop()
        self.slots[rid] = slot
        self.prompt_lens[rid] = prompt_len
        overrides = {k: params[k] for k in PARAM_KEYS if params.get(k) is not None}
        self.controller.reset(torch.tensor([slot], device=self.device), max_new_tokens=max_new_tokens, **overrides)

    def release(self, rid: str) -> None:
        slot = self.slots.pop(rid, None)
        self.prompt_lens.pop(rid, None)
        self.latent_seen.discard(rid)
        if slot is not None:
            self._free.append(slot)

    def step(
        self, rids: list[str], raw_logits: Tensor, sampled: Tensor, extended_to: list[int] | None = None
    ) -> RowOutcome | None:
        """raw_logits: [B, V] before penalties/temperature; sampled: [B] the engine's ids.

        `extended_to` (prefill batches): how far each row's prompt has been run; a row still inside
        its prompt (a chunk of a chunked prefill) samples a token the engine discards, so it is skipped."""
        positions = [
            i
            for i, rid in enumerate(rids)
            if rid in self.slots and (extended_to is None or extended_to[i] >= self.prompt_lens[rid])
        ]
        if not positions:
            return None
        index = torch.tensor(positions, device=raw_logits.device)
        mine = [rids[i] for i in positions]
        slots = torch.tensor([self.slots[r] for r in mine], device=self.device)
        d = self.controller.step(raw_logits[index], sampled[index], rows=slots)
        ids = torch.where(d.budget_hit, self.cfg.eos_ids[0], d.ids)
        for rid, latent in zip(mine, d.feed_mixture.tolist(), strict=True):
            if latent:
                self.latent_seen.add(rid)
        return RowOutcome(positions, mine, ids, d)
