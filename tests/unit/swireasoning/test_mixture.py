"""The batched mixture of the SGLang plugin, in torch (`swireasoning/mixture.py`): every row's exact or
top-k mixture and its anchor, summed over vocabulary shards, against each row computed alone; the
two-stage top-k against `torch.topk`; the launch grid of the Triton mixture (its kernels run in
Triton's interpreter in `test_swireasoning_fused.py`)."""

from __future__ import annotations

import pytest
import torch

from swireasoning.controller import Directive, SwiRController
from swireasoning.mixture import (
    blend,
    blended_shard,
    mix_grid,
    mixture,
    mixture_shard,
    next_embeddings,
    segments_of,
    two_stage_topk,
)
from tests.unit.swireasoning.test_swireasoning_rules import cfg

V, D, SHARD = 256, 8, 64  # four shards of 64 ids


def directive(fused: bool = False, rows: int = 4, seed: int = 0) -> Directive:
    """A step's Directive with anchors at shard edges (0, 63, 64, 255) and uneven weights; `fused`: the
    fused step's form (logits, row max and normaliser, no softmax)."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(rows, V, generator=g) * 3
    d = SwiRController(cfg(), rows).step(logits, torch.full((rows,), 9))
    weight = torch.rand(rows, generator=g)
    d.mix_weight, d.anchor_weight = weight, 1 - weight
    d.anchor_id = torch.tensor([0, SHARD - 1, SHARD, V - 1])[:rows]
    if fused:
        top = logits.max(-1).values
        d.probs, d.logits, d.row_max, d.row_sum = None, logits, top, torch.exp(logits - top[:, None]).sum(-1)
    return d


def per_row(d: Directive, emb: torch.Tensor, ks: list[int]) -> torch.Tensor:
    """Each row alone: its mixture (k = 0: exact) blended with its anchor, in float32."""
    probs = d.probs_slice()
    rows = [mixture_shard(probs[r : r + 1], emb.float(), 0, k or None) for r, k in enumerate(ks)]
    return blend(torch.cat(rows), d.mix_weight, emb[d.anchor_id].float(), d.anchor_weight)


def over_shards(d: Directive, emb: torch.Tensor, ks: list[int] | None, any_exact: bool = True) -> torch.Tensor:
    k = torch.tensor(ks) if ks is not None else None
    k_max = max(ks) if ks else 0
    return sum(blended_shard(d, emb[s : s + SHARD], s, k, k_max, any_exact) for s in range(0, V, SHARD))


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize(
    ("ks", "any_exact"),
    [(None, True), ([0, 3, 5, 0], True), ([2, 3, 5, 1], False), ([1, 0, 1, 0], True), ([V, 7, 0, 2], True)],
)
def test_every_row_summed_over_shards_is_its_own_mixture_with_its_anchor(fused, ks, any_exact):
    emb = torch.randn(V, D, generator=torch.Generator().manual_seed(1))
    d = directive(fused)
    got = over_shards(d, emb, ks, any_exact)
    assert got.dtype == torch.float32
    assert torch.allclose(got, per_row(d, emb, ks or [0] * 4), rtol=1e-4, atol=1e-5)


def test_the_default_is_every_row_exact_and_a_shard_in_bfloat16_is_read_as_such():
    emb = torch.randn(V, D, generator=torch.Generator().manual_seed(2))
    d = directive()
    exact = sum(blended_shard(d, emb[s : s + SHARD], s) for s in range(0, V, SHARD))
    assert torch.allclose(exact, per_row(d, emb, [0] * 4), rtol=1e-4, atol=1e-5)
    probs = d.probs_slice()
    assert torch.allclose(mixture_shard(probs, emb), probs @ emb, rtol=1e-5, atol=1e-6), "the whole vocabulary"
    half = emb.bfloat16()
    assert torch.allclose(over_shards(d, half, [0, 3, 5, 0]), per_row(d, half, [0, 3, 5, 0]), rtol=2e-2, atol=2e-2)


def test_a_fused_directive_of_large_logits_gives_its_top_k_without_overflow():
    emb = torch.randn(V, D, generator=torch.Generator().manual_seed(6))
    d = directive(fused=True)
    assert d.logits is not None
    d.logits = d.logits * 30  # row maxima near 250: exp(x + max) would overflow float32
    d.row_max = d.logits.max(-1).values
    d.row_sum = torch.exp(d.logits - d.row_max[:, None]).sum(-1)
    got = over_shards(d, emb, [2, 3, 5, 1], any_exact=False)
    assert torch.isfinite(got).all() and torch.allclose(got, per_row(d, emb, [2, 3, 5, 1]), rtol=1e-4, atol=1e-5)


def test_no_exact_row_and_no_top_k_is_a_caller_error():
    with pytest.raises(AssertionError, match=r"^blended_shard: no row is exact and no row has a top-k$"):
        blended_shard(directive(), torch.zeros(SHARD, D), 0, None, 0, False)


def test_the_decode_input_of_a_bfloat16_model_stays_bfloat16_exact_or_top_k():
    emb = torch.randn(V, D, generator=torch.Generator().manual_seed(3)).bfloat16()
    d = directive()
    d.feed_mixture = torch.tensor([True, True, False, True])
    for k in (None, 2):
        out = next_embeddings(d, emb, k)
        probs = d.probs_slice()
        want = blend(mixture(probs, emb, k), d.mix_weight, emb[d.anchor_id], d.anchor_weight)
        assert out.dtype == torch.bfloat16 and torch.equal(out[2], emb[d.ids[2]])
        assert torch.allclose(out[[0, 1, 3]].float(), want[[0, 1, 3]].float(), rtol=2e-2, atol=2e-2), k
    assert not torch.allclose(next_embeddings(d, emb, 2).float(), next_embeddings(d, emb, None).float())


@pytest.mark.parametrize(("vocab", "k"), [(4096, 20), (1000, 20), (997, 5), (256, 5), (64, 64)])
def test_the_two_stage_top_k_is_torchs(vocab, k):
    x = torch.randn(3, vocab, generator=torch.Generator().manual_seed(vocab))
    values, ids = two_stage_topk(x, k)
    want_values, want_ids = torch.topk(x, k, dim=-1)
    assert torch.equal(values, want_values) and torch.equal(ids, want_ids)


def test_top_k_segments_divide_the_vocabulary_and_hold_k_each():
    assert [segments_of(v, k) for v, k in [(4096, 20), (1000, 20), (256, 5), (248320, 64)]] == [64, 50, 32, 64]
    assert segments_of(997, 5) == 1 and segments_of(64, 64) == 1 and segments_of(40, 20) == 2
    assert segments_of(999, 5) == 37, "odd counts too (999 = 27 x 37)"
    for vocab, k in [(4096, 20), (1000, 20), (256, 5), (12, 3), (40, 20)]:
        s = segments_of(vocab, k)
        assert vocab % s == 0 and vocab // s >= k
        assert not any(vocab % m == 0 and vocab // m >= k for m in range(s + 1, 65)), "the most segments"


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@pytest.mark.parametrize(
    ("b", "vocab", "hidden"),
    [
        (1, 248320, 4096),
        (64, 31040, 4096),
        (200, 1000, 64),
        (33, 96, 24),
        (20, 5000, 1024),
        (5, 300, 17),
        (3, 100, 8),
        (2, 64, 64),
        (1, 248320, 1200),
        (2, 1040, 64),
    ],
)
def test_the_mixture_grid_covers_every_row_column_and_vocabulary_entry_once(b, vocab, hidden):
    grid, chunk, blocks = mix_grid(b, vocab, hidden)
    (n_v, n_d, n_b), bb, bd = grid, blocks["BB"], blocks["BD"]
    assert all(type(x) is int for x in (*grid, chunk, *blocks.values())), "a launch grid of whole numbers"
    assert blocks["BV"] == 64 and chunk % 64 == 0
    assert n_v * chunk >= vocab > (n_v - 1) * chunk, "each vocabulary entry in exactly one program's chunk"
    assert n_d * bd >= hidden > (n_d - 1) * bd and n_b * bb >= b > (n_b - 1) * bb
    assert bb == max(16, min(128, 1 << (b - 1).bit_length())), "a power of two, 16 to 128, holding the batch"
    # columns: the next power of two holding the hidden size (at least 16), at most 256 (128 past 32 rows)
    assert bd == min(256 if bb <= 32 else 128, max(16, 1 << (hidden - 1).bit_length()))
    # vocabulary slices of at least 256 entries, as many as keep about 1024 programs reading
    slices = max(1, min(1024 // (n_b * n_d), ceil_div(vocab, 256)))
    assert chunk == ceil_div(ceil_div(vocab, slices), 64) * 64 and n_v == ceil_div(vocab, chunk)
    assert mix_grid(b, vocab, hidden, 32)[2]["BD"] == min(32, max(16, 1 << (hidden - 1).bit_length()))
