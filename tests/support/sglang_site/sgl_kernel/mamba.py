"""`sgl_kernel.mamba` stand-in: the Gated-DeltaNet prefill and causal-conv ops, in torch (ops.py)."""

from .ops import causal_conv1d_fn_cpu, causal_conv1d_update_cpu, chunk_gated_delta_rule_cpu

__all__ = ["causal_conv1d_fn_cpu", "causal_conv1d_update_cpu", "chunk_gated_delta_rule_cpu"]
