"""The fused step's Triton kernels compile for an H100/H200 (sm_90) without a GPU (runs in `.venv-sglang`,
whose triton bundles ptxas): the statistics kernels and the state kernel with and without slots and
queues, the batched mixture's kernels (bf16 shard, the block shapes of B = 1 and B = 128), and the
float64 ramps divide
with IEEE rounding (div.rn.f64), as torch does, so the fed weights round as the eager ones.

    PYTHONPATH=. .venv-sglang/bin/python tests/support/fused_compile_check.py
"""

from __future__ import annotations

import sys

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from swireasoning import fused_kernels as k

TARGET = GPUTarget("cuda", 90, 32)
STATS = {"x_ptr": "*fp32", "stride": "i32", "V": "i32", "chunk": "i32", "part_m": "*fp32", "part_s": "*fp32"}
ADVANCE = {
    "part_m": "*fp32", "part_s": "*fp32", "part_h": "*fp64", "n_split": "i32", "sampled_ptr": "*i64",
    "rows_ptr": "*i64", "step_ptr": "*i64", "mode_ptr": "*i8", "href_ptr": "*fp32", "stay_ptr": "*i64",
    "locked_ptr": "*i1", "count_ptr": "*i64", "queue_ptr": "*i64", "qpos_ptr": "*i64", "qlen_ptr": "*i64",
    "budget_ptr": "*i64", "alpha_ptr": "*fp64", "beta_ptr": "*fp64", "window_ptr": "*i64", "maxsw_ptr": "*i64",
    "maxnew_ptr": "*i64", "math_ptr": "*i64", "n_math": "i32", "eos_ptr": "*i64", "n_eos": "i32",
    "conv_ptr": "*i64", "term_ptr": "*i64", "think_id": "i32", "end_id": "i32", "anchor_nl": "i32",
    "answer_budget": "i32", "ids_out": "*i64", "mixw_out": "*fp32", "anchw_out": "*fp32", "anchor_out": "*i64",
    "count_out": "*i64", "flags_out": "*i1", "max_out": "*fp32", "sum_out": "*fp32", "h_out": "*fp32",
    "info_out": "*i32",
}  # fmt: skip
MIX = {
    "x_ptr": "*fp32", "stride": "i32", "start": "i32", "Vs": "i32", "row_max": "*fp32", "row_sum": "*fp32",
    "mixw_ptr": "*fp32", "emb_ptr": "*bf16", "emb_stride": "i32", "D": "i32", "out_ptr": "*fp32", "B": "i32",
    "chunk": "i32",
}  # fmt: skip
ANCHOR = {"anchor_ptr": "*i64", "anchw_ptr": "*fp32", "emb_ptr": "*bf16", "emb_stride": "i32", "start": "i32",
          "Vs": "i32", "D": "i32", "out_ptr": "*fp32"}  # fmt: skip


def ptx(fn: object, types: dict[str, str], consts: dict[str, object], warps: int = 4) -> str:
    signature = {name: "constexpr" if name in consts else types[name] for name in fn.arg_names}  # type: ignore[attr-defined]
    source = ASTSource(fn=fn, signature=signature, constexprs=consts)
    return triton.compile(source, target=TARGET, options={"num_warps": warps}).asm["ptx"]


def main() -> int:
    ptx(k.max_sum, STATS, {"BLOCK": 1024})
    ptx(k.entropy, {**STATS, "part_h": "*fp64"}, {"SPLIT": 64, "BLOCK": 1024})
    code = ""
    for has_rows, n_conv, n_term in ((True, 1, 3), (False, 0, 0)):  # the plugin's; the local engine's
        consts = {"N_CONV": n_conv, "N_TERM": n_term, "QCAP": 3, "QBLOCK": 4, "SPLIT": 8, "HAS_ROWS": has_rows}
        code = ptx(k.advance, ADVANCE, consts) if has_rows else code + ptx(k.advance, ADVANCE, consts)
    for bb, bd, warps in ((16, 256, 4), (64, 128, 8), (64, 256, 8), (128, 128, 8)):  # as mix_grid/launch_mix
        ptx(k.mix_shard, MIX, {"BB": bb, "BV": 64, "BD": bd, "F32": False}, warps)
    ptx(k.anchor_init, ANCHOR, {"BD": 1024})
    if "div.rn.f64" not in code:
        print("FAIL: the ramps do not divide with div.rn.f64")
        return 1
    print("compile ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
