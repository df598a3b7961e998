"""Stand-in for sgl-kernel on a CPU (test support; see ops.py): the ops SGLang 0.5.23 looks up as
`torch.ops.sgl_kernel.*_cpu` on the Qwen3.5 path, as plain torch functions on that namespace, and the
two names the CPU memory pool imports. `convert_weight_packed` is left out on purpose: its absence
keeps SGLang's AMX detection (and the intel_amx paths behind it) off."""

from __future__ import annotations

from typing import Any

import torch

from . import ops
from .ops import assign_req_to_token_pool_cpu

NAMESPACE_OPS = (
    ops.fused_sigmoid_mul_cpu,
    ops.fused_qk_gemma_rmsnorm_cpu,
    ops.fused_qk_gemma_rmsnorm_with_gate_cpu,
    ops.fused_qkvzba_split_reshape_cat_contiguous_cpu,
    ops.fused_gdn_gating_cpu,
    ops.fused_sigmoid_gating_delta_rule_update_cpu,
)
for _op in NAMESPACE_OPS:
    setattr(torch.ops.sgl_kernel, _op.__name__, _op)


def absent(name: str) -> Any:
    def op(*args: object, **kwargs: object) -> None:
        raise NotImplementedError(f"sgl_kernel stand-in: {name} is not provided on this CPU")

    op.__name__ = name
    return op


def __getattr__(name: str) -> Any:
    """Other `*_cpu` names SGLang imports at start (speculative trees, KV moves between pools): present,
    failing loudly if a live test ever reaches one. Nothing else (no `convert_weight_packed`)."""
    if name.endswith("_cpu"):
        return absent(name)
    raise AttributeError(name)


__all__ = ["assign_req_to_token_pool_cpu", "ops"]
