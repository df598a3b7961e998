"""The CPU stand-ins for sgl-kernel that the live SGLang servers run (tests/support/sglang_site/sgl_kernel),
each against a reference: transformers' torch forms of Qwen3.5's Gated-DeltaNet (chunked and recurrent),
causal conv (prefill and update), gating and Gemma RMSNorm, and its per-head [q | gate] layout. Packed
sequences, state slots and SGLang's state layout ([HV, V, K]) are what the stand-ins add."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from transformers.models.qwen3_5_moe import modeling_qwen3_5_moe as ref

from tests.support.sglang_site.sgl_kernel import ops

H, HV, K, V, DIM, WIDTH = 2, 4, 16, 16, 24, 4


def close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-4) -> bool:
    return torch.allclose(a.float(), b.float(), atol=tol, rtol=tol)


@pytest.fixture()
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(7)


def gdn_inputs(rng: torch.Generator, t: int) -> tuple[torch.Tensor, ...]:
    q, k = (torch.randn(1, t, H, K, generator=rng) for _ in range(2))
    v = torch.randn(1, t, HV, V, generator=rng)
    g = -torch.rand(1, t, HV, generator=rng)  # log decay < 0
    beta = torch.rand(1, t, HV, generator=rng)
    return q, k, v, g, beta


def test_chunked_prefill_of_packed_sequences_matches_transformers_per_sequence(rng):
    q, k, v, g, beta = gdn_inputs(rng, 11)
    pool = torch.randn(5, HV, V, K, generator=rng)  # SGLang's layout; slot 0 unused
    before = pool.clone()
    cu, slots = torch.tensor([0, 4, 11]), torch.tensor([3, 1])
    out, _, _ = ops.chunk_gated_delta_rule_cpu(q, k, v, g, beta, initial_state=pool, cu_seqlens=cu,
                                               use_qk_l2norm_in_kernel=True, initial_state_indices=slots)  # fmt: skip
    for (lo, hi), slot in zip([(0, 4), (4, 11)], [3, 1], strict=True):
        want, final = ref.torch_chunk_gated_delta_rule(
            q[:, lo:hi], k[:, lo:hi], v[:, lo:hi], g[:, lo:hi], beta[:, lo:hi], chunk_size=4,
            initial_state=before[slot].transpose(-1, -2)[None], output_final_state=True, use_qk_l2norm_in_kernel=True,
        )  # fmt: skip
        assert close(out[:, lo:hi], want)
        assert close(pool[slot], final[0].transpose(-1, -2))
    assert torch.equal(pool[[0, 2, 4]], before[[0, 2, 4]])  # other slots untouched


def test_decode_step_with_gating_matches_transformers_recurrent_form(rng):
    q, k, v, _, _ = gdn_inputs(rng, 3)  # three rows, one token each
    a, b = torch.randn(3, HV, generator=rng), torch.randn(3, HV, generator=rng)
    a_log, dt_bias = torch.randn(HV, generator=rng), torch.randn(HV, generator=rng)
    pool = torch.randn(4, HV, V, K, generator=rng)
    before = pool.clone()
    slots = torch.tensor([2, 0, 3])
    out = ops.fused_sigmoid_gating_delta_rule_update_cpu(
        a_log, dt_bias, q, k, v, a, b, initial_state_source=pool, initial_state_indices=slots,
        use_qk_l2norm_in_kernel=True,
    )  # fmt: skip
    g = -a_log.float().exp() * F.softplus(a.float() + dt_bias)  # Qwen3_5MoeGatedDeltaNet.forward's gating
    for row, slot in enumerate(slots.tolist()):
        want, final = ref.torch_recurrent_gated_delta_rule(
            q[:, row : row + 1], k[:, row : row + 1], v[:, row : row + 1], g[None, row : row + 1],
            b.sigmoid()[None, row : row + 1], initial_state=before[slot].transpose(-1, -2)[None],
            output_final_state=True, use_qk_l2norm_in_kernel=True,
        )  # fmt: skip
        assert close(out[:, row : row + 1], want)
        assert close(pool[slot], final[0].transpose(-1, -2))
    assert torch.equal(pool[1], before[1])


def test_gating_matches_transformers(rng):
    a, b = torch.randn(5, HV, generator=rng), torch.randn(5, HV, generator=rng)
    a_log, dt_bias = torch.randn(HV, generator=rng), torch.randn(HV, generator=rng)
    g, beta = ops.fused_gdn_gating_cpu(a_log, a, b, dt_bias)
    assert g.shape == beta.shape == (1, 5, HV)
    assert close(g[0], -a_log.float().exp() * F.softplus(a.float() + dt_bias), 1e-6)
    assert close(beta[0], b.sigmoid(), 1e-6)


def test_causal_conv_prefill_and_decode_match_transformers(rng):
    weight, bias = torch.randn(DIM, WIDTH, generator=rng), torch.randn(DIM, generator=rng)
    x = torch.randn(DIM, 9, generator=rng)  # two packed sequences: 5 fresh, then 4 continuing slot 2
    states = torch.randn(3, DIM, WIDTH - 1, generator=rng)
    carried = states[2].clone()
    out = ops.causal_conv1d_fn_cpu(x, weight, bias, activation="silu", conv_states=states,
                                   has_initial_state=torch.tensor([False, True]), cache_indices=torch.tensor([0, 2]),
                                   query_start_loc=torch.tensor([0, 5, 9]))  # fmt: skip
    assert close(out[:, :5], ref.causal_conv1d_fn(x[None, :, :5], weight, bias, activation="silu")[0])
    want_state = carried[None].clone()
    assert close(out[:, 5:], ref.causal_conv1d_update(x[None, :, 5:], want_state, weight, bias, activation="silu")[0])
    assert close(states[2], want_state[0]) and close(states[0], x[:, 2:5])

    step = torch.randn(2, DIM, generator=rng)
    want_state = states[[2, 0]].clone()
    want = ref.causal_conv1d_update(step[:, :, None], want_state, weight, bias, activation="silu")[:, :, 0]
    got = ops.causal_conv1d_update_cpu(step, states, weight, bias, "silu", conv_state_indices=torch.tensor([2, 0]))
    assert close(got, want) and close(states[[2, 0]], want_state)


def test_gemma_norms_and_the_q_gate_split_match_transformers(rng):
    d, heads, t = 16, 4, 3
    norm = ref.Qwen3_5MoeRMSNorm(d, eps=1e-6)
    norm.weight.data = torch.randn(d, generator=rng)
    q_gate = torch.randn(t, heads * 2 * d, generator=rng)  # the q_proj output of Qwen3.5's attention
    k = torch.randn(t, 2 * d, generator=rng)
    q_out, k_out, gate = ops.fused_qk_gemma_rmsnorm_with_gate_cpu(q_gate, k, norm.weight, norm.weight, 1e-6, d, heads)
    want_q, want_gate = torch.chunk(q_gate.view(t, heads, 2 * d), 2, dim=-1)  # Qwen3_5MoeAttention's split
    assert close(q_out.view(t, heads, d), norm(want_q)) and close(k_out, norm(k.view(-1, d)))
    assert torch.equal(gate.view(t, heads, d), want_gate)

    attn = torch.randn(t, heads * d, generator=rng)
    want = attn * torch.sigmoid(gate.view(t, -1))
    ops.fused_sigmoid_mul_cpu(attn, gate.view(t, -1))
    assert close(attn, want, 1e-6)


def test_split_of_the_linear_attention_projections(rng):
    t, hk, hv, dk, dv = 3, 2, 4, 8, 6
    q, k = torch.randn(t, hk * dk, generator=rng), torch.randn(t, hk * dk, generator=rng)
    v, z = torch.randn(t, hv * dv, generator=rng), torch.randn(t, hv * dv, generator=rng)
    b, a = torch.randn(t, hv, generator=rng), torch.randn(t, hv, generator=rng)
    qkv, z_out, b_out, a_out = ops.fused_qkvzba_split_reshape_cat_contiguous_cpu(
        torch.cat([q, k, v, z], -1), torch.cat([b, a], -1), hk, hv, dk, dv)  # fmt: skip
    assert torch.equal(qkv, torch.cat([q, k, v], -1)) and torch.equal(z_out, z.view(t, hv, dv))
    assert torch.equal(b_out, b) and torch.equal(a_out, a)


def test_req_to_token_rows_get_their_cache_locations():
    table = torch.zeros(3, 8, dtype=torch.int32)
    ops.assign_req_to_token_pool_cpu(torch.tensor([2, 0]), table, torch.tensor([1, 0]), torch.tensor([4, 2]),
                                     torch.tensor([10, 11, 12, 20, 21]), 8)  # fmt: skip
    assert table[2, 1:4].tolist() == [10, 11, 12] and table[0, :2].tolist() == [20, 21]
    assert int(table.sum()) == 10 + 11 + 12 + 20 + 21
