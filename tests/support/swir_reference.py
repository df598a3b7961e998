"""A plain transcription of the official `generate_swir` loop (sdc17/SwiReasoning generation_utils.py:217-408),
written for reading, not speed: Python lists for queues, explicit per-row loops, HF's own logits warpers.

Two deliberate differences from the official file, neither in the algorithm: positions are passed
explicitly and are padding-aware (the official loop lets the model infer them), and the prefill
computes logits for the last position only (`logits_to_keep=1`, as any engine must at 248K vocab).
"""

from __future__ import annotations

import torch
from transformers import (
    DynamicCache,
    LogitsProcessorList,
    MinPLogitsWarper,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from swireasoning.controller import SwiRConfig
from swireasoning.decode import PromptBatch, SamplingParams


def warpers(s: SamplingParams) -> LogitsProcessorList:
    out = LogitsProcessorList([TemperatureLogitsWarper(s.temperature)])
    if s.top_k > 0:
        out.append(TopKLogitsWarper(s.top_k))
    if s.top_p < 1.0:
        out.append(TopPLogitsWarper(s.top_p))
    if s.min_p > 0.0:
        out.append(MinPLogitsWarper(s.min_p))
    return out


@torch.inference_mode()
def reference_generate_swir(model, batch: PromptBatch, cfg: SwiRConfig, sampling: SamplingParams, seed: int):
    """Returns per row: output ids, [(step, 'explicit'|'latent')] switches, and the finish step (or None)."""
    generator = torch.Generator().manual_seed(seed)
    E = model.get_input_embeddings().weight
    bsz = batch.input_ids.shape[0]
    T_max = cfg.max_new_tokens
    mode = torch.zeros(bsz, dtype=torch.long)  # 0 = soft (latent), 1 = normal (explicit): starts latent
    mode_stay_steps = torch.zeros(bsz, dtype=torch.long)
    locked_normal_mask = torch.zeros(bsz, dtype=torch.bool)
    switch_count = torch.zeros(bsz, dtype=torch.long)
    injecting = [False] * bsz
    inject_queues: list[list[int]] = [[] for _ in range(bsz)]
    answer_budget = torch.full((bsz,), -1, dtype=torch.long)
    think_emb, end_think_emb = E[cfg.think_id], E[cfg.end_think_id]
    linebreak_emb = E[cfg.anchor_linebreak]
    math_ids = torch.tensor(cfg.math_ids, dtype=torch.long)
    eos = torch.tensor(cfg.eos_ids, dtype=torch.long)
    procs = warpers(sampling) if sampling.temperature > 0 else None  # greedy needs no warpers

    active = list(range(bsz))
    outputs: list[list[int]] = [[] for _ in range(bsz)]
    switches: list[list[tuple[int, str]]] = [[] for _ in range(bsz)]
    finish_step: list[int | None] = [None] * bsz
    past = DynamicCache(config=model.config)
    attention_mask = batch.attention_mask
    next_pos = batch.next_position.clone()
    last_emb = None
    ref_entropy = None

    for t in range(T_max):
        if t == 0:
            out = model(
                input_ids=batch.input_ids,
                attention_mask=attention_mask,
                position_ids=batch.position_ids,
                past_key_values=past,
                use_cache=True,
                logits_to_keep=1,
                **batch.vision,
            )
        else:
            out = model(
                inputs_embeds=last_emb[:, None, :],
                attention_mask=attention_mask,
                position_ids=next_pos.view(1, -1, 1).expand(3, -1, 1),
                past_key_values=past,
                use_cache=True,
            )
            next_pos = next_pos + 1
        logits = out.logits[:, -1, :]

        probs_original = torch.softmax(logits.float() if cfg.fp32_entropy else logits, dim=-1)
        if sampling.temperature > 0:
            probs = torch.softmax(procs(None, logits), dim=-1)  # type: ignore[misc]
            tok = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        else:
            tok = logits.argmax(-1)
        locked_normal_mask |= tok == cfg.end_think_id
        if cfg.max_switch_count is not None:
            for i in range(len(tok)):
                if injecting[i]:
                    tok[i] = inject_queues[i].pop(0)
                    if not inject_queues[i]:
                        injecting[i] = False

        cur_entropy = -(probs_original * torch.log(probs_original.clamp(min=1e-12))).sum(-1)
        if t == 0:
            ref_entropy = cur_entropy.clone()
            to_normal = torch.zeros(len(tok), dtype=torch.bool)
            to_soft = torch.zeros(len(tok), dtype=torch.bool)
        else:
            mode_stay_steps += 1
            to_normal = (mode == 0) & (cur_entropy < ref_entropy)
            to_soft = (mode == 1) & (cur_entropy > ref_entropy) & (mode_stay_steps >= cfg.window) & ~locked_normal_mask
            mode[to_normal] = 1
            mode[to_soft] = 0
            mode_stay_steps[to_normal | to_soft] = 0
            ref_entropy[to_normal | to_soft] = cur_entropy[to_normal | to_soft]
            if cfg.max_switch_count is not None:
                switch_count[to_normal] += 1

        is_normal = (mode == 1) | locked_normal_mask | torch.isin(tok, math_ids)
        e_tok = E[tok]
        e_soft = probs_original.to(E.dtype) @ E
        alpha = cfg.alpha0 + (1 - cfg.alpha0) * t / T_max
        if t == 0:
            e_soft = 0.9 * e_soft + 0.1 * linebreak_emb
        else:
            e_soft = torch.where(to_soft[:, None], alpha * e_soft + (1 - alpha) * think_emb, e_soft)
        beta = cfg.beta0 + (1 - cfg.beta0) * t / T_max
        if t > 0:
            e_tok = torch.where(to_normal[:, None], beta * e_soft + (1 - beta) * end_think_emb, e_tok)
        last_emb = torch.where(is_normal[:, None], e_tok, e_soft)

        if cfg.max_switch_count is not None and t > 0:
            C = cfg.max_switch_count
            for i in range(len(tok)):
                if to_normal[i] and C <= switch_count[i] <= 2 * C:
                    inject_queues[i] = list(cfg.convergence_ids)
                    injecting[i] = True
                elif to_normal[i] and switch_count[i] > 2 * C:
                    inject_queues[i] = list(cfg.termination_ids)
                    injecting[i] = True
                    answer_budget[i] = cfg.answer_budget
            answer_budget[answer_budget >= 0] -= 1

        for i, row in enumerate(active):
            outputs[row].append(int(tok[i]))
            if to_normal[i]:
                switches[row].append((t, "explicit"))
            if to_soft[i]:
                switches[row].append((t, "latent"))
        finished = torch.isin(tok, eos) | (answer_budget == 0)
        for i, row in enumerate(active):
            if finished[i]:
                finish_step[row] = t
        if finished.all():
            break
        keep = (~finished).nonzero().squeeze(1)
        active = [active[i] for i in keep.tolist()]
        mode, mode_stay_steps = mode[keep], mode_stay_steps[keep]
        locked_normal_mask, switch_count = locked_normal_mask[keep], switch_count[keep]
        answer_budget, ref_entropy = answer_budget[keep], ref_entropy[keep]
        injecting = [injecting[i] for i in keep.tolist()]
        inject_queues = [inject_queues[i] for i in keep.tolist()]
        last_emb, next_pos = last_emb[keep], next_pos[keep]
        past.reorder_cache(keep)
        attention_mask = torch.cat([attention_mask[keep], attention_mask.new_ones(len(keep), 1)], dim=1)
    return outputs, switches, finish_step
