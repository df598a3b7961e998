"""Triton kernels of the fused SwiReasoning step (see swireasoning/fused.py); imported only where
triton is. Three launches, all shapes fixed by [B, V], nothing read back by the host:

1. `max_sum`  (grid B x S): each program's slice of a row -> its max and sum of exp(x - max).
2. `entropy`  (grid B x S): the row's max and normaliser from the S partials, then its slice's part
   of sum p log max(p, 1e-12) with p = exp(x - max) / sum: the official formula (l.317) term by
   term, accumulated in float64, so h differs from the eager float32 sum by its rounding only.
3. `advance`  (grid B): the entropy from the S parts, then the per-row state machine of
   `SwiRController._advance`, reading and writing the state at the row's slot.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def max_sum(x_ptr, stride, V, chunk, part_m, part_s, BLOCK: tl.constexpr):
    row, part = tl.program_id(0), tl.program_id(1)
    n_split = tl.num_programs(1)
    lo = part * chunk
    offs = tl.arange(0, BLOCK)
    m = tl.full([BLOCK], float("-inf"), tl.float32)
    s = tl.zeros([BLOCK], tl.float32)
    for start in range(0, chunk, BLOCK):
        idx = lo + start + offs
        x = tl.load(x_ptr + row * stride + idx, mask=(idx < V) & (start + offs < chunk), other=float("-inf"))
        x = x.to(tl.float32)
        m_new = tl.maximum(m, x)
        safe = tl.where(m_new == float("-inf"), 0.0, m_new)
        s = s * tl.exp(m - safe) + tl.exp(x - safe)
        m = m_new
    big = tl.max(m, 0)
    safe_big = tl.where(big == float("-inf"), 0.0, big)
    total = tl.sum(s * tl.exp(m - safe_big), 0)
    tl.store(part_m + row * n_split + part, big)
    tl.store(part_s + row * n_split + part, total)


@triton.jit
def _combine(part_m, part_s, row, n_split, SPLIT: tl.constexpr):
    """The row's max and normaliser from its partials (same code, same values, in every program)."""
    j = tl.arange(0, SPLIT)
    pm = tl.load(part_m + row * n_split + j, mask=j < n_split, other=float("-inf"))
    ps = tl.load(part_s + row * n_split + j, mask=j < n_split, other=0.0)
    big = tl.max(pm, 0)
    total = tl.sum(ps * tl.exp(pm - big), 0)
    return big, total


@triton.jit
def entropy(x_ptr, stride, V, chunk, part_m, part_s, part_h, SPLIT: tl.constexpr, BLOCK: tl.constexpr):
    row, part = tl.program_id(0), tl.program_id(1)
    n_split = tl.num_programs(1)
    big, total = _combine(part_m, part_s, row, n_split, SPLIT)
    lo = part * chunk
    offs = tl.arange(0, BLOCK)
    acc = tl.zeros([BLOCK], tl.float64)
    for start in range(0, chunk, BLOCK):
        idx = lo + start + offs
        x = tl.load(x_ptr + row * stride + idx, mask=(idx < V) & (start + offs < chunk), other=float("-inf"))
        p = tl.math.div_rn(tl.exp(x.to(tl.float32) - big), total)
        acc += (p * tl.log(tl.maximum(p, 1e-12))).to(tl.float64)
    tl.store(part_h + row * n_split + part, tl.sum(acc, 0))


@triton.jit
def _is_in(ids, table, n):
    hit = ids != ids
    for j in range(0, n):
        hit = hit | (ids == tl.load(table + j))
    return hit


@triton.jit
def advance(
    part_m, part_s, part_h, n_split, sampled_ptr, rows_ptr,
    step_ptr, mode_ptr, href_ptr, stay_ptr, locked_ptr, count_ptr, queue_ptr, qpos_ptr, qlen_ptr, budget_ptr,
    alpha_ptr, beta_ptr, window_ptr, maxsw_ptr, maxnew_ptr,
    math_ptr, n_math, eos_ptr, n_eos, conv_ptr, term_ptr,
    think_id, end_id, anchor_nl, answer_budget,
    ids_out, mixw_out, anchw_out, anchor_out, count_out, flags_out, max_out, sum_out, h_out, info_out,
    N_CONV: tl.constexpr, N_TERM: tl.constexpr, QCAP: tl.constexpr, QBLOCK: tl.constexpr,
    SPLIT: tl.constexpr, HAS_ROWS: tl.constexpr,
):  # fmt: skip
    r = tl.program_id(0)
    slot = tl.load(rows_ptr + r) if HAS_ROWS else r.to(tl.int64)
    big, total = _combine(part_m, part_s, r, n_split, SPLIT)
    j = tl.arange(0, SPLIT)
    h = (-tl.sum(tl.load(part_h + r * n_split + j, mask=j < n_split, other=0.0), 0)).to(tl.float32)

    sampled = tl.load(sampled_ptr + r)
    locked = (tl.load(locked_ptr + slot) != 0) | (sampled == end_id)  # the sampled token locks
    qpos, qlen = tl.load(qpos_ptr + slot), tl.load(qlen_ptr + slot)
    injecting = qpos < qlen
    forced = tl.load(queue_ptr + slot * QCAP + tl.minimum(qpos, QCAP - 1))
    qpos = tl.where(injecting, qpos + 1, qpos)
    ids = tl.where(injecting, forced, sampled)

    step = tl.load(step_ptr + slot)
    first = step == 0
    mode, h_ref, stay = tl.load(mode_ptr + slot), tl.load(href_ptr + slot), tl.load(stay_ptr + slot)
    stay = tl.where(first, stay, stay + 1)
    to_exp = ~first & (mode == 0) & (h < h_ref)
    to_lat = ~first & (mode == 1) & (h > h_ref) & (stay >= tl.load(window_ptr + slot)) & ~locked
    switched = to_exp | to_lat
    mode = tl.where(to_exp, 1, tl.where(to_lat, 0, mode)).to(tl.int8)
    stay = tl.where(switched, 0, stay)
    h_ref = tl.where(switched | first, h, h_ref)
    count = tl.load(count_ptr + slot) + to_exp.to(tl.int64)
    latent = ~((mode == 1) | locked | _is_in(ids, math_ptr, n_math))

    # the ramps in float64 in the official order, as SwiRController._blend
    stepf, max_new = step.to(tl.float64), tl.load(maxnew_ptr + slot).to(tl.float64)
    a0, b0 = tl.load(alpha_ptr + slot), tl.load(beta_ptr + slot)
    ramp_a = a0 + (1 - a0) * stepf / max_new
    ramp_b = b0 + (1 - b0) * stepf / max_new
    weight = tl.where(to_lat, ramp_a, tl.where(to_exp, ramp_b, 1.0))
    anchor_w = tl.where(to_lat, 1 - ramp_a, tl.where(to_exp, 1 - ramp_b, 0.0))
    weight = tl.where(first, 0.9, weight)
    anchor_w = tl.where(first, 0.1, anchor_w)
    anchor = tl.where(first, anchor_nl, tl.where(to_exp, end_id, think_id)).to(tl.int64)

    # convergence (C <= count <= 2C), termination (count > 2C), as SwiRController._arm
    c = tl.load(maxsw_ptr + slot)
    armed = to_exp & (c >= 0)
    converge = armed & (count >= c) & (count <= 2 * c)
    terminate = armed & (count > 2 * c)
    q = tl.arange(0, QBLOCK)
    if N_CONV > 0:
        write = (q < N_CONV) & ((q * 0 + converge.to(tl.int32)) != 0)  # broadcast: the interpreter needs it
        tl.store(queue_ptr + slot * QCAP + q, tl.load(conv_ptr + q, mask=q < N_CONV), mask=write)
        qlen = tl.where(converge, N_CONV, qlen)
        qpos = tl.where(converge, 0, qpos)
    if N_TERM > 0:
        write = (q < N_TERM) & ((q * 0 + terminate.to(tl.int32)) != 0)
        tl.store(queue_ptr + slot * QCAP + q, tl.load(term_ptr + q, mask=q < N_TERM), mask=write)
        qlen = tl.where(terminate, N_TERM, qlen)
        qpos = tl.where(terminate, 0, qpos)
    budget = tl.load(budget_ptr + slot)
    budget = tl.where(terminate, answer_budget, budget)
    budget = tl.where(budget >= 0, budget - 1, budget)
    budget_hit = budget == 0
    finished = _is_in(ids, eos_ptr, n_eos) | budget_hit
    feed = latent | to_exp

    tl.store(step_ptr + slot, step + 1)
    tl.store(mode_ptr + slot, mode)
    tl.store(href_ptr + slot, h_ref)
    tl.store(stay_ptr + slot, stay)
    tl.store(locked_ptr + slot, locked)
    tl.store(count_ptr + slot, count)
    tl.store(qpos_ptr + slot, qpos)
    tl.store(qlen_ptr + slot, qlen)
    tl.store(budget_ptr + slot, budget)

    tl.store(ids_out + r, ids)
    tl.store(mixw_out + r, weight.to(tl.float32))
    tl.store(anchw_out + r, anchor_w.to(tl.float32))
    tl.store(anchor_out + r, anchor)
    tl.store(count_out + r, count)
    tl.store(max_out + r, big)
    tl.store(sum_out + r, total)
    tl.store(h_out + r, h)
    # flags: feed, latent, to_explicit, to_latent, finished, budget_hit
    tl.store(flags_out + r * 6 + 0, feed)
    tl.store(flags_out + r * 6 + 1, latent)
    tl.store(flags_out + r * 6 + 2, to_exp)
    tl.store(flags_out + r * 6 + 3, to_lat)
    tl.store(flags_out + r * 6 + 4, finished)
    tl.store(flags_out + r * 6 + 5, budget_hit)
    # the host's one copy: [latent, switched_to, count, feed] (see engine_table.StepInfo)
    tl.store(info_out + r * 4 + 0, latent.to(tl.int32))
    tl.store(info_out + r * 4 + 1, to_exp.to(tl.int32) + 2 * to_lat.to(tl.int32))
    tl.store(info_out + r * 4 + 2, count.to(tl.int32))
    tl.store(info_out + r * 4 + 3, feed.to(tl.int32))


@triton.jit
def anchor_init(anchor_ptr, anchw_ptr, emb_ptr, emb_stride, start, Vs, D, out_ptr, BD: tl.constexpr):
    """out[row] = anchor_weight * E[anchor] where this shard holds the anchor, else 0 (grid B x D/BD):
    the start value the mixture kernel adds into."""
    row, pd = tl.program_id(0), tl.program_id(1)
    cols = pd * BD + tl.arange(0, BD)
    a = tl.load(anchor_ptr + row)
    inside = (a >= start) & (a < start + Vs)
    local = tl.where(inside, a - start, 0)
    e = tl.load(emb_ptr + local * emb_stride + cols, mask=cols < tl.where(inside, D, 0), other=0.0)
    tl.store(out_ptr + row * D + cols, tl.load(anchw_ptr + row) * e.to(tl.float32), mask=cols < D)


@triton.jit
def mix_shard(
    x_ptr, stride, start, Vs, row_max, row_sum, mixw_ptr, emb_ptr, emb_stride, D, out_ptr, B, chunk,
    BB: tl.constexpr, BV: tl.constexpr, BD: tl.constexpr, F32: tl.constexpr,
):  # fmt: skip
    """out[b] += mix_weight_b * sum_v p_bv E_v over one slice of the shard's rows and one block of
    columns (grid V-slices x D/BD x B/BB): p from the logits and the step's row max and normaliser,
    never stored; the shard is read once in all; slices meet by float32 atomic adds. F32: the
    product in float32 (float32 shards; and Triton's interpreter, whose bf16 dot is wrong), else p
    is rounded to the shard's dtype as the torch form does."""
    pv, pd, pb = tl.program_id(0), tl.program_id(1), tl.program_id(2)
    rows = pb * BB + tl.arange(0, BB)
    rmask = rows < B
    m = tl.load(row_max + rows, mask=rmask, other=0.0)
    scale = tl.load(mixw_ptr + rows, mask=rmask, other=0.0) / tl.load(row_sum + rows, mask=rmask, other=1.0)
    cols = pd * BD + tl.arange(0, BD)
    dmask = cols < D
    offs = tl.arange(0, BV)
    acc = tl.zeros([BB, BD], tl.float32)
    lo = pv * chunk
    for v0 in range(0, chunk, BV):
        v = lo + v0 + offs
        vmask = (v < Vs) & (v0 + offs < chunk)
        x = tl.load(x_ptr + rows[:, None] * stride + start + v[None, :], mask=rmask[:, None] & vmask[None, :],
                    other=float("-inf"))  # fmt: skip
        p = tl.exp(x.to(tl.float32) - m[:, None]) * scale[:, None]
        e = tl.load(emb_ptr + v[:, None] * emb_stride + cols[None, :], mask=vmask[:, None] & dmask[None, :], other=0.0)
        if F32:
            acc += tl.dot(p, e.to(tl.float32), input_precision="ieee")
        else:
            acc += tl.dot(p.to(e.dtype), e)
    tl.atomic_add(out_ptr + rows[:, None] * D + cols[None, :], acc, mask=rmask[:, None] & dmask[None, :])
