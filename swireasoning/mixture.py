"""Latent inputs: probability-weighted mixtures of embedding rows, on the whole vocabulary or a shard.

`mixture_shard` is what a tensor-parallel rank computes on its vocabulary slice [start, start + Vs);
summing it over ranks (all-reduce) gives `mixture`. Top-k keeps the k most probable tokens,
renormalised, so it equals the exact mixture when k = V.

`blended_shard` is the batched form the SGLang plugin uses: every row of a step at once, each with
its own k (0: exact), the anchor embedding folded in, so one all-reduce of its float32 [b, d] result
gives every row's next input. From a fused step's Directive (row max and normaliser, no softmax) on
a device Triton runs on, the exact part is two launches (swireasoning/fused_kernels.py: the anchor
term, then the shard read once by many programs with p made on the fly); the torch form stays the
reference. The top-k ids come from a two-stage top-k (per segment, then over the candidates), so a
single row's selection is spread over many blocks instead of one.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from swireasoning.controller import Directive
from swireasoning.fused import runs_fused, triton_kernels

TOPK_SEGMENTS = 64  # stage one of the top-k: this many segments per row, each its own block


def topk_weights(probs: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """probs: [b, V] -> (weights [b, k] renormalised, ids [b, k])."""
    values, ids = torch.topk(probs, min(k, probs.shape[-1]), dim=-1)
    return values / values.sum(-1, keepdim=True), ids


def mixture_shard(probs: Tensor, shard: Tensor, start: int = 0, top_k: int | None = None) -> Tensor:
    """This shard's part of sum_v p_v E_v; probs: [b, V] (full vocabulary), shard: [Vs, d] -> [b, d]."""
    end = start + shard.shape[0]
    if top_k is None:
        return probs[:, start:end].to(shard.dtype) @ shard
    weights, ids = topk_weights(probs, top_k)
    inside = (ids >= start) & (ids < end)
    local = (ids - start).clamp(0, shard.shape[0] - 1)
    w = torch.where(inside, weights, torch.zeros_like(weights)).to(shard.dtype)
    return torch.einsum("bk,bkd->bd", w, shard[local])


def mixture(probs: Tensor, embedding: Tensor, top_k: int | None = None) -> Tensor:
    """sum_v p_v E_v over the whole vocabulary (or its top-k); probs: [b, V], embedding: [V, d]."""
    return mixture_shard(probs, embedding, 0, top_k)


def blend(mix: Tensor, weight: Tensor, anchor: Tensor, anchor_weight: Tensor) -> Tensor:
    """weight * mix + anchor_weight * anchor, per row: the official ramps and anchors (l.342-350)."""
    return weight.to(mix.dtype)[:, None] * mix + anchor_weight.to(mix.dtype)[:, None] * anchor


def next_embeddings(d: Directive, embedding: Tensor, top_k: int | None = None) -> Tensor:
    """The next decode input per row, [b, d]: E[id] for token rows, the blended mixture otherwise."""
    tokens = embedding[d.ids]
    if not bool(d.feed_mixture.any()):
        return tokens
    mixed = blend(mixture(d.probs_slice(), embedding, top_k), d.mix_weight, embedding[d.anchor_id], d.anchor_weight)
    return torch.where(d.feed_mixture[:, None], mixed, tokens)


def segments_of(vocab: int, k: int) -> int:
    """The most segments (<= TOPK_SEGMENTS) that divide the vocabulary with k entries each (1: none)."""
    return next((s for s in range(TOPK_SEGMENTS, 1, -1) if vocab % s == 0 and vocab // s >= k), 1)


def two_stage_topk(x: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """torch.topk(x, k, -1) (values descending) as top-k per segment then top-k of the candidates:
    the same set (the k largest of a row are among its segments' k largest), one block per segment."""
    b, vocab = x.shape
    s = segments_of(vocab, k)
    if s == 1:
        return torch.topk(x, k, dim=-1)
    vals, idx = torch.topk(x.reshape(b, s, vocab // s), k, dim=-1)
    idx = idx + (torch.arange(s, device=x.device) * (vocab // s))[None, :, None]
    top, pick = torch.topk(vals.reshape(b, s * k), k, dim=-1)
    return top, idx.reshape(b, s * k).gather(1, pick)


def topk_rows(d: Directive, ks: Tensor, k_max: int) -> tuple[Tensor, Tensor]:
    """Each row's own top-k at once: (weights [b, k_max], zero past the row's k and renormalised
    over its first k; ids [b, k_max]). ks: [b] (rows with k = 0 get zero weights)."""
    if d.probs is not None:
        values, ids = two_stage_topk(d.probs, k_max)
        values = values.float()
    else:  # the same order: softmax is monotonic in the logits
        assert d.logits is not None and d.row_max is not None and d.row_sum is not None
        top, ids = two_stage_topk(d.logits, k_max)
        values = torch.exp(top.float() - d.row_max[:, None]) / d.row_sum[:, None]
    keep = torch.arange(k_max, device=ks.device)[None, :] < ks[:, None]
    values = torch.where(keep, values, torch.zeros_like(values))
    return values / values.sum(-1, keepdim=True).clamp(min=torch.finfo(values.dtype).tiny), ids


def blended_shard(d: Directive, shard: Tensor, start: int, ks: Tensor | None = None, k_max: int = 0,
                  any_exact: bool = True) -> Tensor:  # fmt: skip
    """This rank's part of every row's next input, float32 [b, d]: mix_weight * (its mixture, exact or
    top-k per `ks`) + anchor_weight * E[anchor] (the rank holding the anchor adds it). Summed over
    ranks, it is `blend(mixture(...), ...)` computed in float32. `k_max` and `any_exact` are host
    values (from the requests' parameters), so no decision here waits for the GPU."""
    if d.logits is not None and d.row_max is not None and runs_fused(shard, True):
        return fused_blended_shard(d, shard, start, ks, k_max, any_exact)
    return eager_blended_shard(d, shard, start, ks, k_max, any_exact)


def topk_part(d: Directive, shard: Tensor, start: int, ks: Tensor, k_max: int) -> Tensor:
    """Each row's top-k mixture on this shard (zero for rows with k = 0), float32 [b, d]."""
    full = d.probs if d.probs is not None else d.logits
    assert full is not None
    weights, ids = topk_rows(d, ks, min(k_max, full.shape[-1]))
    inside = (ids >= start) & (ids < start + shard.shape[0])
    local = (ids - start).clamp(0, shard.shape[0] - 1)
    w = torch.where(inside, weights, torch.zeros_like(weights))
    return torch.bmm(w[:, None, :], shard[local].float())[:, 0]


def eager_blended_shard(d: Directive, shard: Tensor, start: int, ks: Tensor | None = None, k_max: int = 0,
                        any_exact: bool = True) -> Tensor:  # fmt: skip
    """`blended_shard` in torch operations: the reference of the fused form."""
    end = start + shard.shape[0]
    mix: Tensor | None = None
    if any_exact:
        mix = (d.probs_slice(start, end).to(shard.dtype) @ shard).float()
    if ks is not None and k_max > 0:
        top = topk_part(d, shard, start, ks, k_max)
        mix = top if mix is None else torch.where(ks[:, None] > 0, top, mix)
    assert mix is not None, "blended_shard: no row is exact and no row has a top-k"
    anchor_in = (d.anchor_id >= start) & (d.anchor_id < end)
    anchor = shard[(d.anchor_id - start).clamp(0, shard.shape[0] - 1)].float()
    anchor = torch.where(anchor_in[:, None], anchor, torch.zeros_like(anchor))
    return d.mix_weight[:, None] * mix + d.anchor_weight[:, None] * anchor


def fused_blended_shard(d: Directive, shard: Tensor, start: int, ks: Tensor | None = None, k_max: int = 0,
                        any_exact: bool = True) -> Tensor:  # fmt: skip
    """`blended_shard` from a fused step's Directive: the anchor term, the exact rows' mixtures added
    by one Triton launch that reads the shard once, the top-k rows' added in torch."""
    assert d.logits is not None and d.row_max is not None and d.row_sum is not None
    b, hidden = d.logits.shape[0], shard.shape[1]
    shard = shard if shard.stride(-1) == 1 else shard.contiguous()
    out = torch.empty(b, hidden, dtype=torch.float32, device=shard.device)
    k = triton_kernels()
    k.anchor_init[(b, -(-hidden // 1024))](
        d.anchor_id, d.anchor_weight, shard, shard.stride(0), start, shard.shape[0], hidden, out, BD=1024
    )
    topk = ks if k_max > 0 else None
    if any_exact:  # the exact rows' weight (top-k rows add theirs below)
        weight = d.mix_weight if topk is None else torch.where(topk > 0, torch.zeros_like(d.mix_weight), d.mix_weight)
        launch_mix(k, d, shard, start, weight, out)
    if topk is not None:
        out += d.mix_weight[:, None] * topk_part(d, shard, start, topk, k_max)
    return out


def mix_grid(b: int, vocab: int, hidden: int, bd: int = 0) -> tuple[tuple[int, int, int], int, dict[str, int]]:
    """(grid, vocabulary rows per program, block sizes): all rows of a block share each shard tile
    read; enough vocabulary slices to keep every SM reading (fixed by the shapes: capturable).
    `bd`: the column block (0: 256 up to 32 rows, else 128; wider re-reads the logits less)."""
    bb = max(16, min(128, 1 << (b - 1).bit_length()))
    bd = min(bd or (256 if bb <= 32 else 128), max(16, 1 << (hidden - 1).bit_length()))
    n_b, n_d = -(-b // bb), -(-hidden // bd)
    n_v = max(1, min(1024 // (n_b * n_d), -(-vocab // (4 * 64))))
    chunk = -(-vocab // n_v)
    chunk = -(-chunk // 64) * 64
    return (-(-vocab // chunk), n_d, n_b), chunk, {"BB": bb, "BV": 64, "BD": bd}


def launch_mix(k: Any, d: Directive, shard: Tensor, start: int, weight: Tensor, out: Tensor, bd: int = 0) -> None:
    assert d.logits is not None and d.row_max is not None and d.row_sum is not None
    b, (vocab, hidden) = d.logits.shape[0], shard.shape
    grid, chunk, blocks = mix_grid(b, vocab, hidden, bd)
    logits = d.logits if d.logits.stride(-1) == 1 else d.logits.contiguous()
    f32 = shard.dtype == torch.float32 or not shard.is_cuda  # not CUDA: Triton's interpreter
    warps = 8 if blocks["BB"] * blocks["BD"] >= 8192 else 4
    k.mix_shard[grid](
        logits, logits.stride(0), start, vocab, d.row_max, d.row_sum, weight, shard, shard.stride(0), hidden, out,
        b, chunk, **blocks, F32=f32, num_warps=warps,
    )  # fmt: skip
