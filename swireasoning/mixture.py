"""Latent inputs: probability-weighted mixtures of embedding rows, on the whole vocabulary or a shard.

`mixture_shard` is what a tensor-parallel rank computes on its vocabulary slice [start, start + Vs);
summing it over ranks (all-reduce) gives `mixture`. Top-k keeps the k most probable tokens,
renormalised, so it equals the exact mixture when k = V.

`blended_shard` is the batched form the SGLang plugin uses: every row of a step at once, each with
its own k (0: exact), the anchor embedding folded in, so one all-reduce of its float32 [b, d] result
gives every row's next input.
"""

from __future__ import annotations

import torch
from torch import Tensor

from swireasoning.controller import Directive


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


def topk_rows(d: Directive, ks: Tensor, k_max: int) -> tuple[Tensor, Tensor]:
    """Each row's own top-k at once: (weights [b, k_max], zero past the row's k and renormalised
    over its first k; ids [b, k_max]). ks: [b] (rows with k = 0 get zero weights)."""
    if d.probs is not None:
        values, ids = torch.topk(d.probs, k_max, dim=-1)
        values = values.float()
    else:  # the same order: softmax is monotonic in the logits
        assert d.logits is not None and d.row_max is not None and d.row_sum is not None
        top, ids = torch.topk(d.logits, k_max, dim=-1)
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
    end = start + shard.shape[0]
    mix: Tensor | None = None
    if any_exact:
        mix = (d.probs_slice(start, end).to(shard.dtype) @ shard).float()
    if ks is not None and k_max > 0:
        full = d.probs if d.probs is not None else d.logits
        assert full is not None
        weights, ids = topk_rows(d, ks, min(k_max, full.shape[-1]))
        inside = (ids >= start) & (ids < end)
        local = (ids - start).clamp(0, shard.shape[0] - 1)
        w = torch.where(inside, weights, torch.zeros_like(weights))
        top = torch.einsum("bk,bkd->bd", w, shard[local].float())
        mix = top if mix is None else torch.where(ks[:, None] > 0, top, mix)
    assert mix is not None, "blended_shard: no row is exact and no row has a top-k"
    anchor_in = (d.anchor_id >= start) & (d.anchor_id < end)
    anchor = shard[(d.anchor_id - start).clamp(0, shard.shape[0] - 1)].float()
    anchor = torch.where(anchor_in[:, None], anchor, torch.zeros_like(anchor))
    return d.mix_weight[:, None] * mix + d.anchor_weight[:, None] * anchor
