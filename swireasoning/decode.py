"""A transformers decode loop in the gpt-fast shape: `sample`, `prefill`, `decode_one`, `generate`.

Every step after prefill feeds `inputs_embeds` ([B, 1, d]): the token's embedding row for explicit
rows, a probability-weighted mixture for SwiReasoning's latent rows. Rows finish independently and
are dropped from every state tensor and from the (hybrid) cache, as the official loop does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor

from swireasoning.controller import Directive, SwiRController


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.6
    top_p: float = 1.0
    top_k: int = 0  # 0 = off
    min_p: float = 0.0


@dataclass
class PromptBatch:
    input_ids: Tensor  # [B, S], left-padded
    attention_mask: Tensor  # [B, S]
    position_ids: Tensor  # [3, B, S] for M-RoPE models (temporal, height, width), else [B, S]
    next_position: Tensor  # [B]: position of the first generated token
    vision: dict[str, Tensor] = field(default_factory=dict)  # pixel_values, image_grid_thw, mm_token_type_ids


STEP_VALUES = ("ids", "latent", "switched_to", "switch_count", "finished", "budget_hit")


@dataclass
class Step:
    """One decode step's result for the rows it ran ([b] each): the one shape of it, made by the
    eager loop and the batched engine alike, read by name (never a positional tuple)."""

    rows: Tensor  # [b] original row indices
    ids: Tensor  # [b] emitted token ids (forced ones included)
    latent: Tensor  # [b] bool: this step's token was fed back as a mixture, not as itself
    switched_to: Tensor  # [b] int8: 0 none, 1 -> explicit, 2 -> latent
    switch_count: Tensor  # [b]
    finished: Tensor  # [b] bool: the row ends with this step
    budget_hit: Tensor  # [b] bool: ended by SwiReasoning's answer budget

    @classmethod
    def plain(cls, rows: Tensor, ids: Tensor, eos_ids: Tensor) -> Step:
        """Rows decoded without SwiReasoning: the sampled ids, finished on an EOS."""
        zeros = torch.zeros_like(ids)
        latent = torch.zeros_like(ids, dtype=torch.bool)
        return cls(rows, ids, latent, zeros.to(torch.int8), zeros, torch.isin(ids, eos_ids), latent.clone())

    @classmethod
    def of(cls, rows: Tensor, d: Directive) -> Step:
        """SwiReasoning rows: what the controller's step decided."""
        return cls(rows, d.ids, d.latent, d.switched_to, d.switch_count, d.finished, d.budget_hit)

    def select(self, index: Tensor) -> Step:
        """Rows `index` of this step."""
        return Step(self.rows[index], *(getattr(self, name)[index] for name in STEP_VALUES))

    def replaced(self, at: Tensor, other: Step) -> Step:
        """This step with rows `at` taken from `other` (those rows were decided elsewhere)."""
        return Step(self.rows, *(getattr(self, n).index_put((at,), getattr(other, n)) for n in STEP_VALUES))

    def stacked(self) -> Tensor:
        """[6, b] long: every per-row value in one tensor, for one device-to-host copy."""
        return torch.stack([getattr(self, name).long() for name in STEP_VALUES])

    @classmethod
    def unstacked(cls, rows: Tensor, values: Tensor) -> Step:
        """The inverse of `stacked`."""
        ids, latent, switched, count, finished, budget = values
        return cls(rows, ids, latent.bool(), switched.to(torch.int8), count, finished.bool(), budget.bool())


def filter_logits(logits: Tensor, params: SamplingParams) -> Tensor:
    """Temperature, top-k, top-p, min-p as masks to -inf, with transformers' warper semantics; [B, V]."""
    logits = logits / params.temperature
    if params.top_k > 0 and params.top_p < 1.0:
        logits = _top_k_top_p(logits, params.top_k, params.top_p)
    elif params.top_k > 0:
        kth = torch.topk(logits, min(params.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    elif params.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=False)
        drop_sorted = sorted_logits.softmax(-1).cumsum(-1) <= (1 - params.top_p)
        drop_sorted[:, -1] = False  # always keep the most probable token
        logits = logits.masked_fill(drop_sorted.scatter(1, order, drop_sorted), float("-inf"))
    if params.min_p > 0.0:
        probs = logits.softmax(-1)
        drop = probs < params.min_p * probs.amax(-1, keepdim=True)
        drop.scatter_(-1, probs.argmax(-1, keepdim=True), False)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


TIE_ROOM = 16  # tokens tied with the k-th one that top-k + top-p still sees (ties keep them all)


def _top_k_top_p(logits: Tensor, top_k: int, top_p: float) -> Tensor:
    """Top-k then top-p, sorting only the top-k candidates instead of the whole vocabulary: the
    tokens top-k masks sort first and carry no probability, so top-p's ascending cumulative sum
    over the survivors is the same; the same -inf masks as the two warpers one after the other
    (exact unless more than TIE_ROOM tokens tie with the k-th, then those beyond are dropped)."""
    k = min(top_k, logits.shape[-1])
    values, order = logits.topk(min(k + TIE_ROOM, logits.shape[-1]), dim=-1)  # descending
    kept = values >= values[:, k - 1 : k]  # transformers' top-k keeps every tie of the k-th
    values, order = values.masked_fill(~kept, float("-inf")).flip(-1), order.flip(-1)  # ascending
    drop = values.softmax(-1).cumsum(-1) <= (1 - top_p)
    drop[:, -1] = False  # always keep the most probable token
    out = torch.full_like(logits, float("-inf"))
    return out.scatter(1, order, values.masked_fill(drop, float("-inf")))


def sample(logits: Tensor, params: SamplingParams, generator: torch.Generator | None) -> Tensor:
    """logits: [B, V] raw -> ids [B]. Temperature 0 is greedy."""
    if params.temperature <= 0.0:
        return logits.argmax(-1)
    return draw(filter_logits(logits, params).softmax(-1), generator)


def draw(probs: Tensor, generator: torch.Generator | None) -> Tensor:
    """One id per row of `probs` [B, V]: `torch.multinomial(probs, 1)`'s own draw (argmax of p / q,
    q ~ Exp(1): the same numbers from the same generator, the same ids) without its input checks,
    ~10 more small kernels per call."""
    noise = torch.empty_like(probs).exponential_(1, generator=generator)
    return (probs / noise).argmax(-1)


def prefill(model, batch: PromptBatch, cache) -> Tensor:
    """Run the prompt through the model, filling `cache`; returns last-position logits [B, V]."""
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=batch.position_ids,
        past_key_values=cache,
        use_cache=True,
        logits_to_keep=1,
        **batch.vision,
    )
    return out.logits[:, -1].float()  # float32 logits, as SGLang and HF generate sample from


def decode_one(model, embeds: Tensor, position: Tensor, attention_mask: Tensor, cache, mrope: bool) -> Tensor:
    """embeds: [B, 1, d], position: [B], attention_mask: [B, L] -> logits [B, V]."""
    out = model(
        inputs_embeds=embeds,
        attention_mask=attention_mask,
        position_ids=position.view(1, -1, 1).expand(3, -1, 1) if mrope else position.view(-1, 1),
        past_key_values=cache,
        use_cache=True,
    )
    return out.logits[:, -1].float()


@torch.inference_mode()
def generate(
    model,
    batch: PromptBatch,
    *,
    max_new_tokens: int,
    sampling: SamplingParams,
    eos_ids: tuple[int, ...],
    controller: SwiRController | None = None,
    mixture_top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> Iterator[Step]:
    """Prefill, then one `decode_one` per token until every row finishes or `max_new_tokens`."""
    from transformers import DynamicCache

    from swireasoning.mixture import next_embeddings

    embedding = model.get_input_embeddings().weight  # [V, d]
    device = batch.input_ids.device
    eos = torch.tensor(eos_ids, dtype=torch.long, device=device)
    cache = DynamicCache(config=model.config)
    rows = torch.arange(batch.input_ids.shape[0], device=device)
    mask, position = batch.attention_mask, batch.next_position.clone()
    logits = prefill(model, batch, cache)
    for _ in range(max_new_tokens):
        sampled = sample(logits, sampling, generator)
        if controller is None:
            step, embeds = Step.plain(rows, sampled, eos), embedding[sampled]
        else:
            d = controller.step(logits, sampled)
            step, embeds = Step.of(rows, d), next_embeddings(d, embedding, mixture_top_k)
        yield step
        finished = step.finished
        if bool(finished.all()):
            return
        if bool(finished.any()):
            keep = (~finished).nonzero().squeeze(1)
            rows, embeds, mask, position = rows[keep], embeds[keep], mask[keep], position[keep]
            cache.reorder_cache(keep)  # type: ignore[arg-type]  # a LongTensor at run time
            if controller is not None:
                controller.select(keep)
        mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)
        logits = decode_one(model, embeds[:, None, :], position, mask, cache, batch.position_ids.ndim == 3)
        position = position + 1
