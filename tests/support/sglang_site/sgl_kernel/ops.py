"""Pure-torch forms of the sgl-kernel CPU ops SGLang 0.5.23 calls on the Qwen3.5 path (the wheel has
no CPU build; its C++ CPU kernels target AMX/AVX-512). Test support only: on the live test servers'
PYTHONPATH (tests/support/sglang_site), never in a production install. Each is checked against a
reference in tests/unit/worker/test_sgl_kernel_standins.py (transformers' torch Gated-DeltaNet and
causal-conv forms; SGLang's own native norms and splits).

Layouts are SGLang's: conv states [slots, dim, width - 1]; Gated-DeltaNet states [slots, HV, V, K]
(transformers keeps [HV, K, V]); q/k [1, T, H, K], v [1, T, HV, V], gates [1, T, HV]; sequences
packed along T and delimited by `cu_seqlens` / `query_start_loc`.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor


def gemma_rms(x: Tensor, weight: Tensor, eps: float) -> Tensor:
    """SGLang's GemmaRMSNorm.forward_native: x / rms(x) * (1 + w), in float32."""
    xf = x.float()
    out = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * (1.0 + weight.float())
    return out.to(x.dtype)


def fused_sigmoid_mul_cpu(x: Tensor, gate: Tensor) -> None:
    """x *= sigmoid(gate), in place (the attention output gate)."""
    x.mul_(torch.sigmoid(gate.reshape(x.shape).float()).to(x.dtype))


def fused_qk_gemma_rmsnorm_cpu(q: Tensor, k: Tensor, q_w: Tensor, k_w: Tensor, eps: float,
                               head_dim: int) -> tuple[Tensor, Tensor]:  # fmt: skip
    """Per-head Gemma RMSNorm of q and k: ([T * Hq, D], [T * Hk, D])."""
    return gemma_rms(q.reshape(-1, head_dim), q_w, eps), gemma_rms(k.reshape(-1, head_dim), k_w, eps)


def fused_qk_gemma_rmsnorm_with_gate_cpu(q_gate: Tensor, k: Tensor, q_w: Tensor, k_w: Tensor, eps: float,
                                         head_dim: int, num_heads: int) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """q_gate [T, H * 2D] holds [q_h | gate_h] per head: (norm(q), norm(k), gate), each contiguous."""
    per_head = q_gate.reshape(q_gate.shape[0], num_heads, 2 * head_dim)
    q, gate = per_head[..., :head_dim], per_head[..., head_dim:]
    q_out, k_out = fused_qk_gemma_rmsnorm_cpu(q, k, q_w, k_w, eps, head_dim)
    return q_out, k_out, gate.contiguous()


def fused_qkvzba_split_reshape_cat_contiguous_cpu(mixed_qkvz: Tensor, mixed_ba: Tensor, num_heads_qk: int,
                                                  num_heads_v: int, head_qk: int,
                                                  head_v: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:  # fmt: skip
    """[q | k | v | z], [b | a] -> (qkv [T, 2 Hk Dk + Hv Dv], z [T, Hv, Dv], b [T, Hv], a [T, Hv])."""
    qk, vz = num_heads_qk * head_qk, num_heads_v * head_v
    q, k, v, z = mixed_qkvz.split([qk, qk, vz, vz], dim=-1)
    b, a = mixed_ba.split([num_heads_v, num_heads_v], dim=-1)
    qkv = torch.cat([q, k, v], dim=-1)
    return qkv, z.reshape(z.shape[0], num_heads_v, head_v).contiguous(), b.contiguous(), a.contiguous()


def fused_gdn_gating_cpu(A_log: Tensor, a: Tensor, b: Tensor, dt_bias: Tensor) -> tuple[Tensor, Tensor]:
    """(g, beta), each [1, T, Hv] float32: g = -exp(A_log) * softplus(a + dt_bias), beta = sigmoid(b)."""
    g = -torch.exp(A_log.float()) * F.softplus(a.float() + dt_bias.float(), beta=1.0, threshold=20.0)
    return g.unsqueeze(0), torch.sigmoid(b.float()).unsqueeze(0)


def l2norm(x: Tensor) -> Tensor:
    return x * torch.rsqrt((x * x).sum(-1, keepdim=True) + 1e-6)


def delta_rule_run(q: Tensor, k: Tensor, v: Tensor, g: Tensor, beta: Tensor, state: Tensor,
                   l2: bool) -> tuple[Tensor, Tensor]:  # fmt: skip
    """One sequence, token by token. q, k [L, H, K]; v [L, Hv, V]; g, beta [L, Hv]; state [Hv, V, K].
    Returns (out [L, Hv, V], final state [Hv, V, K]), float32 (the recurrence of transformers'
    torch_recurrent_gated_delta_rule, in SGLang's state layout)."""
    rep = v.shape[1] // q.shape[1]
    q, k = q.float().repeat_interleave(rep, dim=1), k.float().repeat_interleave(rep, dim=1)
    if l2:
        q, k = l2norm(q), l2norm(k)
    q = q / q.shape[-1] ** 0.5
    s = state.float().transpose(-1, -2).clone()  # [Hv, K, V]
    out = torch.empty(v.shape, dtype=torch.float32, device=v.device)
    for t in range(v.shape[0]):
        s = s * g[t].float().exp()[:, None, None]
        kv_mem = (s * k[t][:, :, None]).sum(-2)  # [Hv, V]
        delta = (v[t].float() - kv_mem) * beta[t].float()[:, None]
        s = s + k[t][:, :, None] * delta[:, None, :]
        out[t] = (s * q[t][:, :, None]).sum(-2)
    return out, s.transpose(-1, -2)


def spans(cu_seqlens: Tensor | None, total: int) -> list[tuple[int, int]]:
    bounds = [0, total] if cu_seqlens is None else cu_seqlens.tolist()
    return list(itertools.pairwise(bounds))


def chunk_gated_delta_rule_cpu(q: Tensor, k: Tensor, v: Tensor, g: Tensor, beta: Tensor, initial_state: Tensor,
                               cu_seqlens: Tensor | None = None, head_first: bool = False,
                               use_qk_l2norm_in_kernel: bool = False, initial_state_indices: Tensor | None = None,
                               **_: object) -> tuple[Tensor, Tensor, None]:  # fmt: skip
    """Prefill: each packed sequence from its state slot; the final states are written back in place."""
    assert not head_first
    out = torch.empty(v.shape, dtype=v.dtype, device=v.device)
    slots = initial_state_indices.tolist() if initial_state_indices is not None else None
    finals = []
    for i, (lo, hi) in enumerate(spans(cu_seqlens, v.shape[1])):
        state = initial_state[slots[i] if slots is not None else i]
        o, final = delta_rule_run(q[0, lo:hi], k[0, lo:hi], v[0, lo:hi], g[0, lo:hi], beta[0, lo:hi], state,
                                  use_qk_l2norm_in_kernel)  # fmt: skip
        out[0, lo:hi] = o.to(v.dtype)
        state.copy_(final.to(state.dtype))
        finals.append(final)
    return out, torch.stack(finals), None


def fused_sigmoid_gating_delta_rule_update_cpu(A_log: Tensor, dt_bias: Tensor, q: Tensor, k: Tensor, v: Tensor,
                                               a: Tensor, b: Tensor, initial_state_source: Tensor,
                                               initial_state_indices: Tensor, cu_seqlens: Tensor | None = None,
                                               use_qk_l2norm_in_kernel: bool = False, softplus_beta: float = 1.0,
                                               softplus_threshold: float = 20.0, **_: object) -> Tensor:  # fmt: skip
    """Decode: one token per row (q [1, B, H, K]); gates from a, b; states updated in place by slot."""
    g = -torch.exp(A_log.float()) * F.softplus(a.float() + dt_bias.float(), beta=softplus_beta,
                                               threshold=softplus_threshold)  # fmt: skip
    beta = torch.sigmoid(b.float())
    out = torch.empty(v.shape, dtype=v.dtype, device=v.device)
    for row, slot in enumerate(initial_state_indices.tolist()):
        if slot < 0:  # a padded row
            out[0, row] = 0
            continue
        state = initial_state_source[slot]
        o, final = delta_rule_run(q[0, row : row + 1], k[0, row : row + 1], v[0, row : row + 1],
                                  g[row : row + 1], beta[row : row + 1], state, use_qk_l2norm_in_kernel)  # fmt: skip
        out[0, row] = o[0].to(v.dtype)
        state.copy_(final.to(state.dtype))
    return out


def conv_run(x: Tensor, state: Tensor, weight: Tensor, bias: Tensor | None, silu: bool) -> tuple[Tensor, Tensor]:
    """Depthwise causal conv of x [dim, L] after `state` [dim, width - 1]: (out [dim, L], new state)."""
    full = torch.cat([state.to(x.dtype), x], dim=-1)
    out = F.conv1d(full[None].to(weight.dtype), weight[:, None, :], bias, groups=weight.shape[0])[0]
    out = F.silu(out) if silu else out
    return out.to(x.dtype), full[:, -state.shape[-1] :]


def causal_conv1d_fn_cpu(x: Tensor, weight: Tensor, bias: Tensor | None = None, activation: str | None = None,
                         conv_states: Tensor | None = None, has_initial_state: Tensor | None = None,
                         cache_indices: Tensor | None = None, query_start_loc: Tensor | None = None,
                         **_: object) -> Tensor:  # fmt: skip
    """Prefill: x [dim, T] packed; each sequence starts from its conv state (or zeros) and leaves its last
    width - 1 inputs there."""
    assert conv_states is not None and cache_indices is not None
    out = torch.empty_like(x)
    slots, fresh = cache_indices.tolist(), None if has_initial_state is None else has_initial_state.tolist()
    for i, (lo, hi) in enumerate(spans(query_start_loc, x.shape[-1])):
        state = conv_states[slots[i]]
        start = state if fresh is not None and fresh[i] else torch.zeros_like(state)
        out[:, lo:hi], new_state = conv_run(x[:, lo:hi], start, weight, bias, activation in ("silu", "swish"))
        state.copy_(new_state)
    return out


def causal_conv1d_update_cpu(x: Tensor, conv_state: Tensor, weight: Tensor, bias: Tensor | None = None,
                             activation: str | None = None, conv_state_indices: Tensor | None = None,
                             **_: object) -> Tensor:  # fmt: skip
    """Decode: x [B, dim], one token per row, its conv state advanced in place."""
    out = torch.empty_like(x)
    slots = conv_state_indices.tolist() if conv_state_indices is not None else list(range(x.shape[0]))
    for row, slot in enumerate(slots):
        if slot < 0:
            out[row] = 0
            continue
        state = conv_state[slot]
        o, new_state = conv_run(x[row][:, None], state, weight, bias, activation in ("silu", "swish"))
        out[row] = o[:, 0]
        state.copy_(new_state)
    return out


def assign_req_to_token_pool_cpu(req_pool_indices: Tensor, req_to_token: Tensor, start_offset: Tensor,
                                 end_offset: Tensor, out_cache_loc: Tensor, _row_len: int) -> None:  # fmt: skip
    """req_to_token[req, start:end] = the next (end - start) entries of out_cache_loc, row after row."""
    at = 0
    for req, lo, hi in zip(req_pool_indices.tolist(), start_offset.tolist(), end_offset.tolist(), strict=True):
        req_to_token[req, lo:hi] = out_cache_loc[at : at + hi - lo].to(req_to_token.dtype)
        at += hi - lo
