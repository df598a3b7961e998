"""Run at start by every Python process of a live test SGLang server (this folder is first on its
PYTHONPATH, set by tests/support/sglang_live.py; SGLang's scheduler and detokenizer are spawned
processes, so a wrapper script would not reach them). Test support only, never installed:

- `torchvision::nms` / `qnms` op schemas defined before torchvision (0.28.0, installed --no-deps
  next to CPU torch) registers fake kernels for them; its pure-torch transforms then work.
- Two Triton launches of the Qwen3.5 path get torch forms (a CPU has no GPU driver): the gated
  RMSNorm (fla `RMSNorm.forward` -> SGLang's own `rms_norm_ref`) and the shared-expert gate
  (`_launch_fused_gate_sigmoid_mul` -> sigmoid(x . w) * shared [+ out]).
- Test-only triggers, keyed by a request's rid: `SwiRTable.step` raises for a batch holding a
  `plugin-fault-` request (the SwiReasoning plugin failing on one request), and the prefill of a
  `slow-prefill-` request holds the scheduler for SLOW_PREFILL_S (a long prompt or a first image on a
  CPU), so the live tests can make a server busy without minutes of real prompt.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch

FAULT_PREFIX = "plugin-fault-"
SLOW_PREFIX = "slow-prefill-"
SLOW_PREFILL_S = 8.0
_TORCHVISION_OPS = torch.library.Library("torchvision", "DEF")  # kept alive: the schemas live as long as it
_TORCHVISION_OPS.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_TORCHVISION_OPS.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")


def gated_rmsnorm_forward(self: Any, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
    from sglang.kernels.ops.attention.fla.layernorm_gated import rms_norm_ref

    return rms_norm_ref(x, self.weight, self.bias, z=z, eps=self.eps, group_size=self.group_size,
                        norm_before_gate=self.norm_before_gate)  # fmt: skip


def gate_sigmoid_mul(hidden_states: torch.Tensor, gate_weight: torch.Tensor, shared_output: torch.Tensor,
                     output: torch.Tensor, *, do_add: bool) -> None:  # fmt: skip
    gate = torch.sigmoid(hidden_states.float() @ gate_weight.float())[:, None]
    result = gate * shared_output.float() + (output.float() if do_add else 0.0)
    output.copy_(result.to(output.dtype))


def patch_layernorm(module: ModuleType) -> None:
    module.RMSNorm.forward = gated_rmsnorm_forward  # type: ignore[attr-defined]


def patch_elementwise(module: ModuleType) -> None:
    module._launch_fused_gate_sigmoid_mul = gate_sigmoid_mul  # type: ignore[attr-defined]


def patch_table(module: ModuleType) -> None:
    step = module.SwiRTable.step

    def faulty_step(self: Any, rids: list[str], *args: Any, **kwargs: Any) -> Any:
        if any(r.startswith(FAULT_PREFIX) for r in rids):
            raise RuntimeError("test fault injected by tests/support/sglang_site/sitecustomize.py")
        return step(self, rids, *args, **kwargs)

    module.SwiRTable.step = faulty_step


def patch_runner(module: ModuleType) -> None:
    forward = module.ModelRunner.forward

    def slow_forward(self: Any, forward_batch: Any, *args: Any, **kwargs: Any) -> Any:
        rids = getattr(forward_batch, "rids", None) or []
        if forward_batch.forward_mode.is_extend() and any(r.startswith(SLOW_PREFIX) for r in rids):
            time.sleep(SLOW_PREFILL_S)
        return forward(self, forward_batch, *args, **kwargs)

    module.ModelRunner.forward = slow_forward


PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "sglang.kernels.ops.attention.fla.layernorm_gated": patch_layernorm,
    "sglang.kernels.ops.elementwise.elementwise": patch_elementwise,
    "swireasoning.engine_table": patch_table,
    "sglang.srt.model_executor.model_runner": patch_runner,
}


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself; for the modules in PATCHES, wraps the real loader to patch after import."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name not in PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_patch(module: ModuleType) -> None:
            exec_module(module)
            PATCHES[name](module)

        spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _PatchAfterImport())
