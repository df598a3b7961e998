"""The fused SwiReasoning step: `SwiRController` semantics in three Triton launches, no host sync.

`FusedSwiRController` keeps the eager controller's state tensors and its `step(logits, sampled,
rows=None) -> Directive`; it runs swireasoning/fused_kernels.py where Triton can (CUDA tensors, or
any tensors under TRITON_INTERPRET=1) and the eager step elsewhere, so the plugin and the local
engine use it on every device. The eager controller stays the reference (tests compare the two).

What equal means: every decision but one is integer logic or float64 ramps rounded as the eager
ones, so it is bit-equal. The entropy is the official formula term by term, but summed in another
order (float64 here, float32 in torch), so h may differ from the eager h in its last bits. Both
compare h with a stored h_ref by `<` / `>`, so a decision can differ only when two entropies of a
row are within those bits of each other (relative gap below ~1e-6); identical distributions give
identical h in both, so an exact tie never switches in either.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import Tensor

from swireasoning.controller import Directive, SwiRController

BLOCK = 1024
TARGET_PROGRAMS = 1024  # enough programs per row-slice grid to keep every SM reading
MAX_SPLIT = 64


def triton_kernels() -> Any:
    """swireasoning.fused_kernels, or None where triton is not installed."""
    try:
        from swireasoning import fused_kernels
    except ImportError:
        return None
    return fused_kernels


def runs_fused(logits: Tensor, fp32_entropy: bool) -> bool:
    """Triton runs on CUDA, or on the CPU in its interpreter; the eager entropy of bf16 logits is a
    bf16 sum, which the fused float32 one does not reproduce, so those stay eager."""
    exact_dtype = logits.dtype == torch.float32 or fp32_entropy
    device_ok = logits.is_cuda or os.environ.get("TRITON_INTERPRET") == "1"
    return exact_dtype and device_ok and triton_kernels() is not None


def split_of(batch: int, vocab: int) -> tuple[int, int]:
    """(programs per row, vocabulary entries per program): fixed by the shapes, so capturable."""
    split = max(1, min(MAX_SPLIT, TARGET_PROGRAMS // max(batch, 1), -(-vocab // BLOCK)))
    chunk = -(-vocab // split)
    chunk = -(-chunk // BLOCK) * BLOCK
    return -(-vocab // chunk), chunk


class FusedSwiRController(SwiRController):
    def step(self, logits: Tensor, sampled: Tensor, rows: Tensor | None = None) -> Directive:
        if not runs_fused(logits, self.cfg.fp32_entropy):
            return super().step(logits, sampled, rows)
        return self.fused_step(logits, sampled, rows)

    def fused_step(self, logits: Tensor, sampled: Tensor, rows: Tensor | None = None) -> Directive:
        """logits: [b, V] raw (T=1); sampled: [b]; rows: [b] slots (None: row i is slot i)."""
        k = triton_kernels()
        b, vocab = logits.shape
        logits = logits if logits.stride(-1) == 1 else logits.contiguous()
        n_split, chunk = split_of(b, vocab)
        dev = logits.device
        part_m = torch.empty(b, n_split, dtype=torch.float32, device=dev)
        part_s, part_h = torch.empty_like(part_m), torch.empty(b, n_split, dtype=torch.float64, device=dev)
        k.max_sum[(b, n_split)](logits, logits.stride(0), vocab, chunk, part_m, part_s, BLOCK=BLOCK, num_warps=8)
        split_block = max(2, 1 << (n_split - 1).bit_length())
        k.entropy[(b, n_split)](
            logits, logits.stride(0), vocab, chunk, part_m, part_s, part_h, SPLIT=split_block, BLOCK=BLOCK,
            num_warps=8,
        )  # fmt: skip
        out = self._outputs(b, dev)
        self._launch_advance(k, part_m, part_s, part_h, sampled, rows, out, split_block)
        flags = out["flags"]
        return Directive(
            ids=out["ids"], feed_mixture=flags[:, 0], mix_weight=out["mixw"], anchor_weight=out["anchw"],
            anchor_id=out["anchor"], probs=None, latent=flags[:, 1], to_explicit=flags[:, 2],
            to_latent=flags[:, 3], switch_count=out["count"], finished=flags[:, 4], budget_hit=flags[:, 5],
            logits=logits, row_max=out["max"], row_sum=out["sum"], entropy=out["h"], info=out["info"],
        )  # fmt: skip

    @staticmethod
    def _outputs(b: int, dev: torch.device) -> dict[str, Tensor]:
        def empty(*shape: int, dtype: torch.dtype) -> Tensor:
            return torch.empty(*shape, dtype=dtype, device=dev)

        return {
            "ids": empty(b, dtype=torch.long), "mixw": empty(b, dtype=torch.float32),
            "anchw": empty(b, dtype=torch.float32), "anchor": empty(b, dtype=torch.long),
            "count": empty(b, dtype=torch.long), "flags": empty(b, 6, dtype=torch.bool),
            "max": empty(b, dtype=torch.float32), "sum": empty(b, dtype=torch.float32),
            "h": empty(b, dtype=torch.float32), "info": empty(b, 4, dtype=torch.int32),
        }  # fmt: skip

    def _launch_advance(self, k: Any, part_m: Tensor, part_s: Tensor, part_h: Tensor, sampled: Tensor,
                        rows: Tensor | None, out: dict[str, Tensor], split_block: int) -> None:  # fmt: skip
        cfg, b = self.cfg, sampled.shape[0]
        empty = self._conv.new_zeros(1)
        k.advance[(b,)](
            part_m, part_s, part_h, part_m.shape[1], sampled, rows if rows is not None else sampled,
            self.step_, self.mode, self.h_ref, self.stay, self.locked, self.count, self.queue,
            self.queue_pos, self.queue_len, self.budget,
            self.alpha0, self.beta0, self.window, self.max_switch, self.max_new,
            self.math_ids if self.math_ids.numel() else empty, self.math_ids.numel(),
            self.eos_ids, self.eos_ids.numel(),
            self._conv if self._conv.numel() else empty, self._term if self._term.numel() else empty,
            cfg.think_id, cfg.end_think_id, cfg.anchor_linebreak, cfg.answer_budget,
            out["ids"], out["mixw"], out["anchw"], out["anchor"], out["count"], out["flags"], out["max"],
            out["sum"], out["h"], out["info"],
            N_CONV=self._conv.numel(), N_TERM=self._term.numel(), QCAP=self.queue.shape[1],
            QBLOCK=max(2, 1 << (self.queue.shape[1] - 1).bit_length()), SPLIT=split_block,
            HAS_ROWS=rows is not None, num_warps=1,
        )  # fmt: skip
