"""Decode throughput of SwiReasoning vs plain thinking, and of our plain loop vs transformers `generate()`.

    python -m bench.swireasoning [--json] [--tokens N] [--reps R]

Same tiny model, same prompts, same run, interleaved repetitions; ratios of median tokens/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
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


def ours(engine: LocalEngine, batch: PromptBatch, tokens: int, swir: bool) -> int:
    b = batch.input_ids.shape[0]
    cfg = replace(engine.swir_base, max_new_tokens=tokens, eos_ids=(-1,))  # never stop early
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
        runs: dict[str, list[float]] = {"plain": [], "swir": [], "hf": []}
        for rep in range(reps + 1):
            sample = {
                "plain": rate(partial(ours, engine, batch, tokens, swir=False)),
                "swir": rate(partial(ours, engine, batch, tokens, swir=True)),
                "hf": rate(partial(hf_generate, engine, batch, tokens)),
            }
            if rep:  # the first repetition warms up
                for k, v in sample.items():
                    runs[k].append(v)
        med = {k: statistics.median(v) for k, v in runs.items()}
        result[f"tokens_per_s_plain_b{b}"] = med["plain"]
        result[f"tokens_per_s_swir_b{b}"] = med["swir"]
        result[f"tokens_per_s_hf_generate_b{b}"] = med["hf"]
        result[f"throughput_ratio_swir_vs_plain_b{b}"] = med["swir"] / med["plain"]
        result[f"plain_vs_hf_generate_ratio_b{b}"] = med["plain"] / med["hf"]
    result["throughput_ratio_swir_vs_plain"] = result[f"throughput_ratio_swir_vs_plain_b{batch_sizes[0]}"]
    result["plain_vs_hf_generate_ratio"] = result[f"plain_vs_hf_generate_ratio_b{batch_sizes[0]}"]
    return result


def table(r: dict[str, float], batch_sizes: tuple[int, ...]) -> str:
    lines = [
        "| batch | plain tok/s | SwiR tok/s | HF generate tok/s | SwiR / plain | plain / HF generate |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for b in batch_sizes:
        lines.append(
            f"| {b} | {r[f'tokens_per_s_plain_b{b}']:.0f} | {r[f'tokens_per_s_swir_b{b}']:.0f} | "
            f"{r[f'tokens_per_s_hf_generate_b{b}']:.0f} | {r[f'throughput_ratio_swir_vs_plain_b{b}']:.2f} | "
            f"{r[f'plain_vs_hf_generate_ratio_b{b}']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    sizes = (1, 8)
    result = measure(args.tokens, args.reps, sizes)
    print(json.dumps(result) if args.json else table(result, sizes))


if __name__ == "__main__":
    main()
