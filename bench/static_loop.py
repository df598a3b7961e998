"""The static-cache step driven for one batch started together: the GPU bench's fast column.

Not a decode loop of the product (those are `swireasoning.decode.generate`, the eager reference, and
the batched engine `swireasoning.batcher`): `bench.local_gpu` times the captured step here with as
little host work around it as a loop can have, and compares it with the eager loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor

from swireasoning.compile_fallback import CompileFallback
from swireasoning.decode import PromptBatch, SamplingParams, Step, sample
from swireasoning.host_copy import HostCopy
from swireasoning.mixture import next_embeddings
from swireasoning.static_decode import GraphedStep, SlotCache, StaticStep, prefill_slot, unpadded


def controller_step(controller, compile: bool) -> Callable[[Tensor, Tensor], Any]:
    """The controller's whole-batch step, its arithmetic compiled on request (CUDA: many small
    kernels fused; measured 1.48 ms -> 0.26 ms per step on an H200)."""
    raw = getattr(type(controller), "_step", None)
    if not compile or raw is None:
        return controller.step
    # compiling fails before the step runs: the state is untouched when the eager step takes over
    step = CompileFallback(raw, "the SwiReasoning step", eager=lambda c, *a: c.step(*a), dynamic=True)
    return lambda logits, sampled: step(controller, logits, sampled)


def prefill_rows(model, kv: SlotCache, batch: PromptBatch) -> tuple[Tensor, Tensor]:
    """Every row of `batch` into slots 0..B-1: (last logits [B, V], each row's length [B])."""
    n, device = batch.input_ids.shape[0], batch.input_ids.device
    if bool(batch.attention_mask.all()):  # no padding: one forward for the whole batch
        logits, length = prefill_slot(model, kv, 0, batch.input_ids)
        return logits, torch.full((n,), length, dtype=torch.long, device=device)
    prefilled = [prefill_slot(model, kv, i, unpadded(batch, i)) for i in range(n)]
    lengths = torch.tensor([p[1] for p in prefilled], dtype=torch.long, device=device)
    return torch.cat([p[0] for p in prefilled]), lengths


@torch.inference_mode()
def generate_static(
    model,
    batch: PromptBatch,
    *,
    max_new_tokens: int,
    sampling: SamplingParams,
    eos_ids: tuple[int, ...],
    controller=None,
    mixture_top_k: int | None = None,
    generator: torch.Generator | None = None,
    step: GraphedStep | None = None,
    compile_controller: bool = False,
) -> Iterator[Step]:
    """`swireasoning.decode.generate` on the static path, for one batch started together (rows are
    slots 0..B-1; text-only prompts). Yields the same `Step`s. Finished rows keep replaying on the
    scratch column until every row is done; one host sync per step, after the next step is queued."""
    n = batch.input_ids.shape[0]
    if step is None:
        step = GraphedStep(StaticStep(model, SlotCache(model, n, batch.input_ids.shape[1] + max_new_tokens + 2)))
    kv, device = step.step.kv, batch.input_ids.device
    embedding = model.get_input_embeddings().weight
    eos = torch.tensor(eos_ids, dtype=torch.long, device=device)
    logits, write = prefill_rows(model, kv, batch)
    position = batch.next_position.to(device).clone()
    done = torch.zeros(n, dtype=torch.bool, device=device)
    every = alive = torch.arange(n, device=device)
    swir_step = controller_step(controller, compile_controller) if controller is not None else None
    for t in range(max_new_tokens):
        sampled = sample(logits, sampling, generator)
        d = None if swir_step is None else swir_step(logits, sampled)
        result = Step.plain(every, sampled, eos) if d is None else Step.of(every, d)
        newly = result.finished & ~done
        done = done | result.finished
        flags = HostCopy(torch.stack([done.all(), newly.any()]))
        write = torch.where(done, kv.scratch, write)
        if t + 1 < max_new_tokens:  # queued before the host yields or waits: the GPU runs meanwhile
            embeds = embedding[sampled] if d is None else next_embeddings(d, embedding, mixture_top_k)
            logits = step(embeds[:, None, :], position, write)
            position, write = position + 1, torch.where(done, write, write + 1)
        yield result if len(alive) == n else result.select(alive)
        all_done, any_new = flags.get().tolist()
        if all_done:
            return
        if any_new:
            alive = (~done).nonzero().squeeze(1)
