"""The SwiReasoning controller: batched per-row state and one `step()` per decode step.

Transcribes `generate_swir` of the official code (sdc17/SwiReasoning, generation_utils.py:217-408);
see tests/support/swir_reference.py, a literal transcription of that loop. No engine in here: the
caller passes raw logits (temperature 1, unfiltered, before penalties) and the ids it sampled, and
gets back what to emit and what to feed next. Mode 0 is latent (soft), 1 explicit, as in the official code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import torch
from torch import Tensor

LATENT, EXPLICIT = 0, 1


@dataclass(frozen=True)
class SwiRConfig:
    think_id: int
    end_think_id: int
    linebreak_id: int  # the official code's id for "\\n" (a bug); `fix_newline_anchor` picks the real one
    eos_ids: tuple[int, ...]
    math_ids: tuple[int, ...] = ()
    convergence_ids: tuple[int, ...] = ()  # tokens of "</think>" (Qwen)
    termination_ids: tuple[int, ...] = ()  # tokens of "</think>\n\nThe final answer is"
    alpha0: float = 1.0
    beta0: float = 0.7
    window: int = 512
    max_switch_count: int | None = None  # None: no switch control (official run.py default)
    answer_budget: int = 32  # termination_max_tokens
    max_new_tokens: int = 38912  # denominator of the alpha/beta ramps
    newline_id: int | None = None  # the true newline id, used when fix_newline_anchor is on
    fix_newline_anchor: bool = False
    fp32_entropy: bool = False

    @property
    def anchor_linebreak(self) -> int:
        if self.fix_newline_anchor and self.newline_id is not None:
            return self.newline_id
        return self.linebreak_id


@dataclass(frozen=True)
class SwiRParams:
    """One request's own SwiReasoning parameters, as a job (or SGLang's `custom_params`) carries
    them: the one list of them. None keeps the engine's `SwiRConfig` value (whose own default for
    `max_switch_count` is None: no switch control); `mixture_top_k` None is the exact mixture."""

    alpha0: float | None = None
    beta0: float | None = None
    window: int | None = None
    max_switch_count: int | None = None
    mixture_top_k: int | None = None  # how the latent input is mixed; not a controller parameter

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> SwiRParams:
        """From a flat mapping (a job's reasoning, `custom_params`); other keys are not ours."""
        return cls(**{f.name: values.get(f.name) for f in fields(cls)})

    def overrides(self) -> dict[str, Any]:
        """The controller parameters this request sets: `SwiRController.reset`'s keywords."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "mixture_top_k"}
        return {name: v for name, v in values.items() if v is not None}

    def config(self, base: SwiRConfig, max_new_tokens: int) -> SwiRConfig:
        """The engine's config with this request's parameters and length."""
        return replace(base, max_new_tokens=max_new_tokens, **self.overrides())


@dataclass
class Directive:
    """What one step decided, per row still running ([b] each; `probs` [b, V])."""

    ids: Tensor  # ids to emit (forced ones included)
    feed_mixture: Tensor  # bool: next input is a mixture (latent rows, and rows switching to explicit)
    mix_weight: Tensor  # weight of the mixture ...
    anchor_weight: Tensor  # ... and of E[anchor_id]: 1 - mix_weight, rounded as the official code does
    anchor_id: Tensor
    probs: Tensor | None  # softmax of the raw logits, the mixture's weights (None: see `probs_slice`)
    latent: Tensor  # bool: the row is in latent mode this step (its token is not what was fed)
    to_explicit: Tensor  # bool: switched latent -> explicit this step
    to_latent: Tensor  # bool: switched explicit -> latent this step
    switch_count: Tensor
    finished: Tensor  # bool: EOS emitted or answer budget spent
    budget_hit: Tensor  # bool: ended by the answer budget
    # the fused step leaves `probs` None and keeps what makes any slice of it: p = exp(x - max) / sum
    logits: Tensor | None = None
    row_max: Tensor | None = None
    row_sum: Tensor | None = None
    entropy: Tensor | None = None  # [b] float32, the fused step's h (the eager one does not keep it)
    info: Tensor | None = None  # [b, 4] int32: latent, switched_to, switch count, feed_mixture

    def probs_slice(self, start: int = 0, end: int | None = None) -> Tensor:
        """Columns [start, end) of the softmax, [b, end - start] float32 (a vocabulary shard's)."""
        if self.probs is not None:
            return self.probs[:, start:end]
        assert self.logits is not None and self.row_max is not None and self.row_sum is not None
        x = self.logits[:, start:end].float()
        return torch.exp(x - self.row_max[:, None]) / self.row_sum[:, None]

    @property
    def switched_to(self) -> Tensor:
        """int8 per row: 0 no switch, 1 switched to explicit, 2 switched to latent."""
        return self.to_explicit.to(torch.int8).masked_fill_(self.to_latent, 2)


def entropy(probs: Tensor) -> Tensor:
    """Shannon entropy of each row, as the official code computes it (l.317)."""
    return -(probs.clamp(min=1e-12).log_().mul_(probs)).sum(-1)


def member(ids: Tensor, table: Tensor) -> Tensor:
    """`torch.isin(ids, table)` without its sorting path (taken for long tables; it syncs with the
    host, so a CUDA graph capture fails): one comparison per table entry."""
    return (ids[:, None] == table).any(-1)


ROW_FIELDS = (
    "step", "mode", "h_ref", "stay", "locked", "count", "queue", "queue_pos", "queue_len", "budget",
    "alpha0", "beta0", "window", "max_switch", "max_new",
)  # fmt: skip


class SwiRController:
    """Per-row SwiReasoning state and parameters for a batch (or, indexed by slot, for an engine's
    running requests). Rows keep their own step count, so they may start at different times.

    `step(logits, sampled)` advances every row; `step(..., rows=idx)` only rows `idx`, in place.
    The official loop shares one step counter and one parameter set across its batch; with all rows
    started together and default parameters, this is exactly that loop."""

    def __init__(self, cfg: SwiRConfig, batch: int, device: torch.device | str = "cpu") -> None:
        self.cfg = cfg

        def full(value: float | int, dtype: torch.dtype) -> Tensor:
            return torch.full((batch,), value, dtype=dtype, device=device)

        self.step_ = full(0, torch.long)
        self.mode = full(LATENT, torch.int8)  # generation starts latent
        self.h_ref = full(0.0, torch.float32)
        self.stay = full(0, torch.long)
        self.locked = full(False, torch.bool)
        self.count = full(0, torch.long)
        qlen = max(len(cfg.convergence_ids), len(cfg.termination_ids), 1)
        self.queue = torch.zeros(batch, qlen, dtype=torch.long, device=device)
        self.queue_pos = full(0, torch.long)
        self.queue_len = full(0, torch.long)  # queue_pos < queue_len: injecting
        self.budget = full(-1, torch.long)
        # parameters, per row; float64 so the ramps round as the official Python floats do
        self.alpha0 = full(cfg.alpha0, torch.float64)
        self.beta0 = full(cfg.beta0, torch.float64)
        self.window = full(cfg.window, torch.long)
        self.max_switch = full(-1 if cfg.max_switch_count is None else cfg.max_switch_count, torch.long)
        self.max_new = full(cfg.max_new_tokens, torch.long)
        self.math_ids = torch.tensor(cfg.math_ids, dtype=torch.long, device=device)
        self.eos_ids = torch.tensor(cfg.eos_ids, dtype=torch.long, device=device)
        self._conv = torch.tensor(cfg.convergence_ids, dtype=torch.long, device=device)
        self._term = torch.tensor(cfg.termination_ids, dtype=torch.long, device=device)
        # what an armed queue holds: row 0 convergence, row 1 termination (padded), and their lengths
        self._armings = torch.zeros(2, qlen, dtype=torch.long, device=device)
        self._armings[0, : self._conv.numel()], self._armings[1, : self._term.numel()] = self._conv, self._term
        self._arming_len = torch.tensor([self._conv.numel(), self._term.numel()], device=device)
        self._anchors = torch.tensor([cfg.think_id, cfg.end_think_id], device=device)  # by to_explicit
        # a host fact from the rows' parameters (as `blended_shard`'s k_max): without switch control no
        # queue or answer budget is ever armed, so the step skips that part of the state machine
        self.switch_control = cfg.max_switch_count is not None

    def _field(self, name: str) -> Tensor:
        return getattr(self, "step_" if name == "step" else name)

    def _set_field(self, name: str, value: Tensor) -> None:
        setattr(self, "step_" if name == "step" else name, value)

    def select(self, keep: Tensor) -> None:
        """Keep only rows `keep` (indices into the current batch)."""
        for name in ROW_FIELDS:
            self._set_field(name, self._field(name)[keep])

    def reset(self, rows: Tensor, **params: Any) -> None:
        """Start rows `rows` afresh (a new request in an engine slot), optionally with their own
        alpha0 / beta0 / window / max_switch_count / max_new_tokens."""
        fresh = SwiRController(replace(self.cfg, **params), rows.numel(), device=rows.device)
        self.switch_control |= fresh.switch_control  # never back: other rows may hold an armed queue
        for name in ROW_FIELDS:
            self._field(name)[rows] = fresh._field(name)

    def step(self, logits: Tensor, sampled: Tensor, rows: Tensor | None = None) -> Directive:
        """logits: [b, V] raw (T=1, unfiltered); sampled: [b] -> the step's Directive.

        With `rows` ([b] slot indices), only those rows' state is read and written back. Either way the
        state tensors are updated in place, so a CUDA graph of `step` carries the state across replays
        (a graph captured while `switch_control` was off lacks that part: capture again once it is on)."""
        if rows is None:
            return self._step(logits, sampled)
        view = object.__new__(SwiRController)
        view.__dict__.update(self.__dict__)
        for name in ROW_FIELDS:
            view._set_field(name, self._field(name)[rows])
        directive = view._step(logits, sampled)
        for name in ROW_FIELDS:
            self._field(name)[rows] = view._field(name)
        return directive

    def _step(self, logits: Tensor, sampled: Tensor) -> Directive:
        """No host sync and every tensor on the logits' device: a CUDA graph can capture it."""
        probs = torch.softmax(logits.float() if self.cfg.fp32_entropy else logits, dim=-1)
        return self._advance(entropy(probs), sampled, probs)

    # The state machine below updates every state tensor in place (`|=`, `+=`, `masked_fill_`,
    # `out=`) and spends few operations, each on tensors of one dtype (a mixed pair costs a copy): on a
    # small model on the CPU each costs about what its dispatch costs, so the controller's share of a
    # decode step is its operation count.

    def _advance(self, h: Tensor, sampled: Tensor, probs: Tensor | None) -> Directive:
        """The per-row state machine, given each row's entropy `h` ([b])."""
        self.locked |= sampled == self.cfg.end_think_id  # the sampled token locks; a forced one does not
        ids = self._inject(sampled) if self.switch_control else sampled
        first = self.step_ == 0
        explicit = self.mode.bool()
        to_explicit, to_latent, switched = self._switch(h, first, explicit)
        latent = ~((explicit ^ switched) | self.locked | member(ids, self.math_ids))
        mix_weight, anchor_weight, anchor_id = self._blend(to_explicit, to_latent, switched, first)
        if self.switch_control:
            self._arm(to_explicit)
            self.budget.sub_(1).clamp_(min=-1)  # a running budget counts down; -1 (none) stays
            budget_hit = self.budget == 0
        else:
            budget_hit = torch.zeros_like(first)
        self.step_ += 1
        return Directive(
            ids=ids,
            feed_mixture=latent | to_explicit,
            mix_weight=mix_weight,
            anchor_weight=anchor_weight,
            anchor_id=anchor_id,
            probs=probs,
            latent=latent,
            to_explicit=to_explicit,
            to_latent=to_latent,
            switch_count=self.count.clone(),
            finished=member(ids, self.eos_ids) | budget_hit,
            budget_hit=budget_hit,
        )

    def _inject(self, sampled: Tensor) -> Tensor:
        """Rows with an armed queue emit its next token instead of the sampled one (l.305-315)."""
        injecting = self.queue_pos < self.queue_len
        forced = self.queue.gather(1, self.queue_pos.clamp(max=self.queue.shape[1] - 1)[:, None])[:, 0]
        self.queue_pos.add_(injecting.long())
        return torch.where(injecting, forced, sampled)

    def _switch(self, h: Tensor, first: Tensor, explicit: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The entropy rule (l.318-330): the first step sets the reference; after it, latent->explicit
        on any drop below it, explicit->latent on a rise once the dwell window has passed. (A row's
        first step is latent, as every row starts, so only latent->explicit needs `started`.)"""
        started = ~first
        self.stay.add_(started.long())
        to_explicit = started & (h < self.h_ref) & ~explicit
        to_latent = explicit & (h > self.h_ref) & (self.stay >= self.window) & ~self.locked
        switched = to_explicit | to_latent
        self.mode ^= switched  # LATENT <-> EXPLICIT
        self.stay.masked_fill_(switched, 0)
        torch.where(switched | first, h, self.h_ref, out=self.h_ref)
        self.count.add_(to_explicit.long())
        return to_explicit, to_latent, switched

    def _blend(
        self, to_explicit: Tensor, to_latent: Tensor, switched: Tensor, first: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Mixture weight, anchor weight and anchor per row: the first step's line break and the
        alpha/beta ramps (l.341-350), computed in float64 in the official order, so both weights
        round as the official Python floats do (1 - 0.9 rounds to the float32 of 0.1)."""
        start = torch.where(to_latent, self.alpha0, self.beta0)  # the ramp a switching row takes
        ramp = (1 - start).mul_(self.step_).div_(self.max_new).add_(start)  # start + (1 - start) * step / max_new
        weight = torch.where(switched, ramp, 1.0).masked_fill_(first, 0.9)
        anchor = self._anchors[to_explicit.long()].masked_fill_(first, self.cfg.anchor_linebreak)
        return weight.float(), (1 - weight).float(), anchor

    def _arm(self, to_explicit: Tensor) -> None:
        """Convergence (C <= count <= 2C) and termination (count > 2C) on a latent->explicit switch
        of a row with switch control (C >= 0): the queue is replaced, as the official code does; an
        empty token list arms nothing, so a running queue goes on (as the fused kernel does)."""
        c = self.max_switch
        armed = to_explicit & (self.count >= c) & (c >= 0)
        terminate = self.count > 2 * c
        self.budget.masked_fill_(armed & terminate, self.cfg.answer_budget)
        if self._conv.numel() == 0:
            armed &= terminate
        if self._term.numel() == 0:
            armed &= ~terminate
        kind = terminate.long()
        torch.where(armed[:, None], self._armings[kind], self.queue, out=self.queue)
        torch.where(armed, self._arming_len[kind], self.queue_len, out=self.queue_len)
        self.queue_pos.masked_fill_(armed, 0)
