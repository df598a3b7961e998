"""Decode throughput of SwiReasoning vs plain thinking, and of our plain loop vs transformers `generate()`.

    python -m bench.swireasoning [--json] [--tokens N] [--reps R]

Same tiny model, same prompts, same run, interleaved repetitions. SwiReasoning runs twice: with the
official default (no switch control) and with the page's default (max switch count 2: the
convergence / termination part of the state machine runs every step). A shared machine only ever adds
time, so each column's figure is its fastest repetition (as `timeit` advises) and each ratio is the
ratio of those; in brackets the lowest and highest of the repetitions' own ratios (a repetition runs
every column back to back).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial

import torch

from swireasoning.controller import SwiRController
from swireasoning.decode import PromptBatch, SamplingParams, generate
from worker.backends.local import LocalEngine
from worker.ops.devstack import ROOT
from worker.ops.tiny_model import build
from worker.queue.protocol import ChatMessage

SAMPLING = SamplingParams(temperature=0.6, top_p=0.95, top_k=20)


PAGE_MAX_SWITCH = 2  # the page's default max switch count (demo/knobs.py)


def ours(engine: LocalEngine, batch: PromptBatch, tokens: int, swir: bool, max_switch: int | None = None) -> int:
    b = batch.input_ids.shape[0]
    cfg = replace(engine.swir_base, max_new_tokens=tokens, eos_ids=(-1,), max_switch_count=max_switch)
    steps = generate(
        engine.model,
        batch,
        max_new_tokens=tokens,
        sampling=SAMPLING,
        eos_ids=(-1,),
        controller=SwiRController(cfg, b) if swir else None,
        generator=torch.Generator().manual_seed(0),
    )
    return sum(int(s.ids.numel()) for s in steps)


def hf_generate(engine: LocalEngine, batch: PromptBatch, tokens: int) -> int:
    out = engine.model.generate(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        max_new_tokens=tokens,
        min_new_tokens=tokens,
        do_sample=True,
        temperature=SAMPLING.temperature,
        top_p=SAMPLING.top_p,
        top_k=SAMPLING.top_k,
    )
    return int((out.shape[1] - batch.input_ids.shape[1]) * out.shape[0])


def rate(fn: Callable[[], int]) -> float:
    t0 = time.perf_counter()
    n = fn()
    return n / (time.perf_counter() - t0)


def measure(tokens: int, reps: int, batch_sizes: tuple[int, ...]) -> dict[str, float]:
    path = ROOT / "var" / "models" / "tiny-random"
    if not (path / "TINY_RANDOM").exists():
        build(path)
    engine = LocalEngine.load(str(path))
    torch.set_num_threads(1)  # one core: a stable comparison on a noisy 2-core machine
    result: dict[str, float] = {}
    for b in batch_sizes:
        texts = [engine.render([ChatMessage(role="user", content=f"Prompt {i}: think.")], True) for i in range(b)]
        batch = engine.encode(texts, [[] for _ in texts])
        runs: dict[str, list[float]] = {"plain": [], "swir": [], "swir_c2": [], "hf": []}
        for rep in range(reps + 1):
            sample = {
                "plain": rate(partial(ours, engine, batch, tokens, swir=False)),
                "swir": rate(partial(ours, engine, batch, tokens, swir=True)),
                "swir_c2": rate(partial(ours, engine, batch, tokens, swir=True, max_switch=PAGE_MAX_SWITCH)),
                "hf": rate(partial(hf_generate, engine, batch, tokens)),
            }
            if rep:  # the first repetition warms up
                for k, v in sample.items():
                    runs[k].append(v)
        for column, rates in runs.items():
            result[f"tokens_per_s_{'hf_generate' if column == 'hf' else column}_b{b}"] = max(rates)
        for name, num, den in (("swir_vs_plain", "swir", "plain"), ("swir_c2_vs_plain", "swir_c2", "plain"),
                               ("plain_vs_hf_generate", "plain", "hf")):  # fmt: skip
            ratios = [x / y for x, y in zip(runs[num], runs[den], strict=True)]
            result[f"ratio_{name}_b{b}"] = max(runs[num]) / max(runs[den])
            result[f"ratio_{name}_min_b{b}"], result[f"ratio_{name}_max_b{b}"] = min(ratios), max(ratios)
    return result


def table(r: dict[str, float], batch_sizes: tuple[int, ...]) -> str:
    def ratio(name: str, b: int) -> str:
        return f"{r[f'ratio_{name}_b{b}']:.2f} ({r[f'ratio_{name}_min_b{b}']:.2f}-{r[f'ratio_{name}_max_b{b}']:.2f})"

    lines = [
        "| batch | plain tok/s | SwiR tok/s | SwiR, max switch 2, tok/s | HF generate tok/s | SwiR / plain | "
        "SwiR, max switch 2 / plain | plain / HF generate |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in batch_sizes:
        lines.append(
            f"| {b} | {r[f'tokens_per_s_plain_b{b}']:.0f} | {r[f'tokens_per_s_swir_b{b}']:.0f} | "
            f"{r[f'tokens_per_s_swir_c2_b{b}']:.0f} | {r[f'tokens_per_s_hf_generate_b{b}']:.0f} | "
            f"{ratio('swir_vs_plain', b)} | {ratio('swir_c2_vs_plain', b)} | {ratio('plain_vs_hf_generate', b)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    sizes = (1, 8)
    result = measure(args.tokens, args.reps, sizes)
    print(json.dumps(result) if args.json else table(result, sizes))


if __name__ == "__main__":
    main()
