"""gpt-fast-class decoding for plain-attention models (Qwen3, Qwen2, Llama): a static KV cache
allocated once, one slot per row, and a decode step that always takes input embeddings.

The step is the model's own modules called in a fixed-shape order (no transformers cache or mask
machinery), so it can be compiled and captured in a CUDA graph: token rows and SwiReasoning's latent
rows (mixture + anchor blend) replay the same graph. Rows are cache slots: row i of a step of bucket
size b is slot i, and a slot not in use writes to the scratch column (the last one), which no real
row ever attends to. `swireasoning.decode.generate` is the eager reference and test oracle; the
batched engine (`swireasoning.batcher.StaticRows`) is the loop that drives this step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from swireasoning.compile_fallback import CompileFallback

log = logging.getLogger(__name__)
STATIC_TYPES = ("qwen3", "qwen2", "llama")
BUCKETS = (2, 4, 8, 16, 32, 64, 128)  # no 1: one compiled graph, dynamic in the rows, serves all


def static_unsupported(model) -> str | None:
    """Why `model` cannot take the static path (None: it can)."""
    cfg = model.config
    if cfg.model_type not in STATIC_TYPES:
        return f"{cfg.model_type} is not a plain-attention model ({', '.join(STATIC_TYPES)})"
    if getattr(cfg, "use_sliding_window", False):
        return "sliding-window attention is not on the static path"
    rope = getattr(cfg, "rope_parameters", None) or getattr(cfg, "rope_scaling", None) or {}
    if rope.get("rope_type", rope.get("type")) in ("dynamic", "longrope"):
        return "RoPE that changes with the sequence length is not on the static path"
    return None


def bucket_of(n: int, capacity: int) -> int:
    return min([b for b in BUCKETS if b >= n] + [capacity])


def columns_for(longest: int, max_len: int) -> int:
    """The attention width for rows holding up to `longest` tokens (one more written this step,
    one scratch column beyond): a power of two from 256, at most the cache's length."""
    width = 256
    while width < longest + 2:
        width *= 2
    return min(width, max_len)


def _rotate_half(x: Tensor) -> Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    return x * cos + _rotate_half(x) * sin


class SlotCache:
    """K and V per layer, [capacity, kv_heads, max_len, head_dim], allocated once."""

    def __init__(self, model, capacity: int, max_len: int) -> None:
        cfg = model.config
        weight = model.get_input_embeddings().weight
        kv_heads = cfg.num_key_value_heads
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        capacity = max(capacity, 2)  # the smallest captured bucket
        shape = (capacity, kv_heads, max_len, head_dim)
        self.k = [torch.zeros(shape, dtype=weight.dtype, device=weight.device) for _ in range(cfg.num_hidden_layers)]
        self.v = [torch.zeros(shape, dtype=weight.dtype, device=weight.device) for _ in range(cfg.num_hidden_layers)]
        self.capacity, self.max_len = capacity, max_len
        self.scratch = max_len - 1  # the column unused slots write to; real rows end before it

    def load(self, slot: int, cache) -> int:
        """Copy a transformers DynamicCache of B unpadded rows into slots [slot, slot + B); returns
        the length."""
        length = 0
        for i, layer in enumerate(cache.layers):
            rows, length = layer.keys.shape[0], layer.keys.shape[-2]
            self.k[i][slot : slot + rows, :, :length] = layer.keys
            self.v[i][slot : slot + rows, :, :length] = layer.values
        return length


@torch.inference_mode()
def prefill_slot(model, kv: SlotCache, slot: int, input_ids: Tensor) -> tuple[Tensor, int]:
    """Run one unpadded prompt ([S] ids), or B of one length ([B, S]), through the model into slots
    [slot, slot + B): (last logits [B, V], length)."""
    from transformers import DynamicCache

    ids = input_ids if input_ids.ndim == 2 else input_ids[None]
    if ids.shape[1] + 1 >= kv.max_len:
        raise ValueError(f"a prompt of {ids.shape[1]} tokens does not fit a static cache of {kv.max_len}")
    cache = DynamicCache(config=model.config)
    out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
    return out.logits[:, -1].float(), kv.load(slot, cache)


class StaticStep:
    """One decode step over slots [0, b): embeds [b, 1, d], position [b], write index [b] -> logits [b, V]."""

    def __init__(self, model, kv: SlotCache) -> None:
        self.model, self.kv = model, kv
        self.columns = torch.arange(kv.max_len, device=kv.k[0].device)
        self.rows = torch.arange(kv.capacity, device=kv.k[0].device)

    def __call__(self, embeds: Tensor, position: Tensor, write: Tensor, kv_len: int) -> Tensor:
        """Attends over the first `kv_len` columns only; rows writing past them (unused slots) write
        to the last of them, which must lie beyond every real row's tokens."""
        inner = self.model.model
        write = write.clamp(max=kv_len - 1)
        cos, sin = inner.rotary_emb(embeds, position[:, None])
        cos, sin = cos[:, None], sin[:, None]  # [b, 1, 1, hd]: broadcast over heads
        mask = (self.columns[None, :kv_len] <= write[:, None])[:, None, None, :]  # [b, 1, 1, kv_len]
        h = embeds
        for i, layer in enumerate(inner.layers):
            h = h + self._attention(layer.self_attn, layer.input_layernorm(h), cos, sin, mask, write, i, kv_len)
            h = h + layer.mlp(layer.post_attention_layernorm(h))
        return self.model.lm_head(inner.norm(h))[:, -1].float()

    def _attention(
        self, attn, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor, write: Tensor, i: int, kv_len: int
    ) -> Tensor:
        b = x.shape[0]
        kv_heads, head_dim = self.kv.k[i].shape[1], self.kv.k[i].shape[3]
        q = attn.q_proj(x).view(b, 1, -1, head_dim)
        k = attn.k_proj(x).view(b, 1, kv_heads, head_dim)
        if hasattr(attn, "q_norm"):
            q, k = attn.q_norm(q), attn.k_norm(k)
        q, k = _rope(q.transpose(1, 2), cos, sin), _rope(k.transpose(1, 2), cos, sin)  # [b, heads, 1, hd]
        v = attn.v_proj(x).view(b, 1, kv_heads, head_dim).transpose(1, 2)
        rows = self.rows[:b]
        self.kv.k[i][rows, :, write] = k[:, :, 0]  # index_put_ on the whole buffer: compiles in place
        self.kv.v[i][rows, :, write] = v[:, :, 0]
        kc, vc = self.kv.k[i][:b, :, :kv_len], self.kv.v[i][:b, :, :kv_len]
        # grouped-query attention for one query: each kv head's query heads act as its query positions
        q = q.reshape(b, kv_heads, -1, head_dim)
        out = torch.nn.functional.scaled_dot_product_attention(q, kc, vc, attn_mask=mask, scale=attn.scaling)
        return attn.o_proj(out.reshape(b, 1, -1))


def static_buffers(step: StaticStep) -> None:
    """The cache and index buffers have fixed shapes: only the rows and width of a call vary. Else
    dynamic shapes would tie the row count to any equal buffer dimension (kv heads = 8 = 8 rows) and
    compile again when they differ."""
    for t in [*step.kv.k, *step.kv.v, step.columns, step.rows]:
        torch._dynamo.mark_static(t)


class GraphedStep:
    """`StaticStep` captured in one CUDA graph per bucket size (optionally compiled first); on the
    CPU it runs eagerly. Inputs are copied into static buffers, so the caller's tensors are free."""

    def __init__(self, step: StaticStep, compile: bool = True) -> None:
        self.step = step
        self.cuda = step.kv.k[0].is_cuda
        if self.cuda and compile:
            static_buffers(step)
        # rows and attention width symbolic: compiled once
        self.fn = CompileFallback(step, "the decode step", compile=self.cuda and compile, dynamic=True)
        self.graphs: dict[tuple[int, int], tuple[Any, tuple[Tensor, Tensor, Tensor], Tensor]] = {}
        self.pool: Any = None

    @torch.inference_mode()
    def __call__(self, embeds: Tensor, position: Tensor, write: Tensor, kv_len: int | None = None) -> Tensor:
        kv_len = kv_len or self.step.kv.max_len
        if not self.cuda:
            return self.step(embeds, position, write, kv_len)
        b = embeds.shape[0]
        key = (bucket_of(b, self.step.kv.capacity), kv_len)
        if key not in self.graphs:
            self.graphs[key] = self._capture(*key, embeds.shape[-1], embeds.dtype)
        graph, (e, p, w), out = self.graphs[key]
        e[:b].copy_(embeds)
        p[:b].copy_(position)
        w[:b].copy_(write)
        w[b:].fill_(self.step.kv.scratch)  # rows past b: scratch writes, outputs ignored
        graph.replay()
        return out[:b]

    def _capture(self, b: int, kv_len: int, d: int, dtype: torch.dtype):
        """Warm-up and capture with the compiled step; both again with the eager one if either fails."""
        return self.fn.attempt(lambda fn: self._capture_with(fn, b, kv_len, d, dtype))

    def _capture_with(self, fn: Callable[..., Tensor], b: int, kv_len: int, d: int, dtype: torch.dtype):
        device = self.step.kv.k[0].device
        e = torch.zeros(b, 1, d, dtype=dtype, device=device)
        p = torch.zeros(b, dtype=torch.long, device=device)
        w = torch.full((b,), self.step.kv.scratch, dtype=torch.long, device=device)
        _warm(fn, e, p, w, kv_len)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            out = fn(e, p, w, kv_len)
        self.pool = graph.pool()
        log.info("captured the decode step for %d rows over %d columns", b, kv_len)
        return graph, (e, p, w), out


def _warm(fn: Callable[..., Tensor], e: Tensor, p: Tensor, w: Tensor, kv_len: int) -> None:
    """Compile, autotune and allocate on a side stream before capture."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            fn(e, p, w, kv_len)
    torch.cuda.current_stream().wait_stream(side)


def unpadded(batch, row: int) -> Tensor:
    """Row `row` of a left-padded prompt batch, padding removed: [S]."""
    return batch.input_ids[row][batch.attention_mask[row].bool()]
