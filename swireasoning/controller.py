"""The SwiReasoning controller: batched per-row state and one `step()` per decode step.

Transcribes `generate_swir` of the official code (sdc17/SwiReasoning, generation_utils.py:217-408);
see shared/reference/swireasoning.md. No engine in here: the caller passes raw logits
(temperature 1, unfiltered, before penalties) and the ids it sampled, and gets back what to emit
and what to feed next. Mode 0 is latent (soft), 1 explicit, as in the official code.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class Directive:
    """What one step decided, per row still running ([b] each; `probs` [b, V])."""

    ids: Tensor  # ids to emit (forced ones included)
    feed_mixture: Tensor  # bool: next input is a mixture (latent rows, and rows switching to explicit)
    mix_weight: Tensor  # weight of the mixture ...
    anchor_weight: Tensor  # ... and of E[anchor_id]: 1 - mix_weight, rounded as the official code does
    anchor_id: Tensor
    probs: Tensor  # softmax of the raw logits, the mixture's weights
    latent: Tensor  # bool: the row is in latent mode this step (its token is not what was fed)
    to_explicit: Tensor  # bool: switched latent -> explicit this step
    to_latent: Tensor  # bool: switched explicit -> latent this step
    switch_count: Tensor
    finished: Tensor  # bool: EOS emitted or answer budget spent
    budget_hit: Tensor  # bool: ended by the answer budget


def entropy(probs: Tensor) -> Tensor:
    """Shannon entropy of each row, as the official code computes it (l.317)."""
    return -(probs * torch.log(probs.clamp(min=1e-12))).sum(-1)


class SwiRController:
    """Per-row SwiReasoning state for a batch; rows are dropped with `select` as they finish."""

    def __init__(self, cfg: SwiRConfig, batch: int, device: torch.device | str = "cpu") -> None:
        self.cfg = cfg
        self.t = 0
        self.mode = torch.full((batch,), LATENT, dtype=torch.int8, device=device)  # starts latent
        self.h_ref = torch.zeros(batch, device=device)
        self.stay = torch.zeros(batch, dtype=torch.long, device=device)
        self.locked = torch.zeros(batch, dtype=torch.bool, device=device)
        self.count = torch.zeros(batch, dtype=torch.long, device=device)
        qlen = max(len(cfg.convergence_ids), len(cfg.termination_ids), 1)
        self.queue = torch.zeros(batch, qlen, dtype=torch.long, device=device)
        self.queue_pos = torch.zeros(batch, dtype=torch.long, device=device)
        self.queue_len = torch.zeros(batch, dtype=torch.long, device=device)  # 0: not injecting
        self.budget = torch.full((batch,), -1, dtype=torch.long, device=device)
        self.math_ids = torch.tensor(cfg.math_ids, dtype=torch.long, device=device)
        self.eos_ids = torch.tensor(cfg.eos_ids, dtype=torch.long, device=device)
        self._conv = torch.tensor(cfg.convergence_ids, dtype=torch.long, device=device)
        self._term = torch.tensor(cfg.termination_ids, dtype=torch.long, device=device)

    def select(self, keep: Tensor) -> None:
        """Keep only rows `keep` (indices into the current batch)."""
        for name in ("mode", "h_ref", "stay", "locked", "count", "queue", "queue_pos", "queue_len", "budget"):
            setattr(self, name, getattr(self, name)[keep])

    def step(self, logits: Tensor, sampled: Tensor) -> Directive:
        """logits: [b, V] raw (T=1, unfiltered); sampled: [b] -> the step's Directive."""
        cfg, t = self.cfg, self.t
        probs = torch.softmax(logits.float() if cfg.fp32_entropy else logits, dim=-1)
        self.locked |= sampled == cfg.end_think_id  # the sampled token locks; a forced one does not
        ids = self._inject(sampled)
        h = entropy(probs)
        to_explicit, to_latent = self._switch(h)
        latent = ~((self.mode == EXPLICIT) | self.locked | torch.isin(ids, self.math_ids))
        mix_weight, anchor_weight, anchor_id = self._blend(to_explicit, to_latent, ids.shape[0], probs.device)
        if cfg.max_switch_count is not None and t > 0:
            self._arm(to_explicit)
        self.budget = torch.where(self.budget >= 0, self.budget - 1, self.budget)
        budget_hit = self.budget == 0
        self.t += 1
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
            finished=torch.isin(ids, self.eos_ids) | budget_hit,
            budget_hit=budget_hit,
        )

    def _inject(self, sampled: Tensor) -> Tensor:
        """Rows with an armed queue emit its next token instead of the sampled one (l.305-315)."""
        injecting = self.queue_pos < self.queue_len
        pos = self.queue_pos.clamp(max=self.queue.shape[1] - 1)
        forced = self.queue.gather(1, pos[:, None]).squeeze(1)
        self.queue_pos = torch.where(injecting, self.queue_pos + 1, self.queue_pos)
        return torch.where(injecting, forced, sampled)

    def _switch(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """The entropy rule (l.318-330): latent->explicit on any drop, explicit->latent after the dwell."""
        if self.t == 0:
            self.h_ref = h.to(self.h_ref.dtype)
            none = torch.zeros_like(self.locked)
            return none, none
        self.stay += 1
        to_explicit = (self.mode == LATENT) & (h < self.h_ref)
        to_latent = (self.mode == EXPLICIT) & (h > self.h_ref) & (self.stay >= self.cfg.window) & ~self.locked
        switched = to_explicit | to_latent
        self.mode = torch.where(to_explicit, EXPLICIT, torch.where(to_latent, LATENT, self.mode)).to(torch.int8)
        self.stay = torch.where(switched, 0, self.stay)
        self.h_ref = torch.where(switched, h.to(self.h_ref.dtype), self.h_ref)
        self.count += to_explicit.long()
        return to_explicit, to_latent

    def _blend(self, to_explicit: Tensor, to_latent: Tensor, b: int, device) -> tuple[Tensor, Tensor, Tensor]:
        """Mixture weight, anchor weight and anchor per row: the step-0 line break and the alpha/beta
        ramps (l.341-350). Both weights come from Python floats, as the official scalars do, so
        `1 - w` is rounded once from double, not computed in float32."""
        cfg = self.cfg
        ramp = self.t / cfg.max_new_tokens
        alpha = cfg.alpha0 + (1 - cfg.alpha0) * ramp
        beta = cfg.beta0 + (1 - cfg.beta0) * ramp

        def full(value: float) -> Tensor:
            return torch.full((b,), value, device=device)

        if self.t == 0:
            return full(0.9), full(0.1), torch.full((b,), cfg.anchor_linebreak, dtype=torch.long, device=device)
        weight = torch.where(to_latent, full(alpha), torch.where(to_explicit, full(beta), full(1.0)))
        anchor_weight = torch.where(to_latent, full(1 - alpha), torch.where(to_explicit, full(1 - beta), full(0.0)))
        anchor = torch.where(to_explicit, cfg.end_think_id, cfg.think_id)
        return weight, anchor_weight, torch.as_tensor(anchor, device=device).expand(b).clone()

    def _arm(self, to_explicit: Tensor) -> None:
        """Convergence (C <= count <= 2C) and termination (count > 2C) on a latent->explicit switch."""
        c = self.cfg.max_switch_count
        assert c is not None
        converge = to_explicit & (self.count >= c) & (self.count <= 2 * c)
        terminate = to_explicit & (self.count > 2 * c)
        for trig, ids in ((converge, self._conv), (terminate, self._term)):
            if ids.numel() == 0:
                continue
            self.queue[:, : ids.numel()] = torch.where(trig[:, None], ids, self.queue[:, : ids.numel()])
            self.queue_len = torch.where(trig, ids.numel(), self.queue_len)
            self.queue_pos = torch.where(trig, 0, self.queue_pos)
        self.budget = torch.where(terminate, self.cfg.answer_budget, self.budget)
