"""Latent inputs: probability-weighted mixtures of embedding rows, on the whole vocabulary or a shard.

`mixture_shard` is what a tensor-parallel rank computes on its vocabulary slice [start, start + Vs);
summing it over ranks (all-reduce) gives `mixture`. Top-k keeps the k most probable tokens,
renormalised, so it equals the exact mixture when k = V.
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
    mixed = blend(mixture(d.probs, embedding, top_k), d.mix_weight, embedding[d.anchor_id], d.anchor_weight)
    return torch.where(d.feed_mixture[:, None], mixed, tokens)
