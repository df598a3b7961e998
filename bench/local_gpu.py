"""The local engine on one GPU: a random bf16 model of Rio 3.0 Open Mini's size (Qwen3 4B config).

    python -m bench.local_gpu [--tokens 128] [--batches 1,8,32] [--no-compile] [--profile]

Prints, per batch: HF `generate()`, our eager loop (plain / SwiReasoning), our static-cache
captured loop (plain / SwiReasoning), SwiR / plain of the fast path and the bandwidth floor; then 8
concurrent requests through the batched engine against one alone; and the CUDA checks (fast path
tokens and logits against the eager loop, bf16 and float32, PASS/FAIL). Each batch also prints a
per-step breakdown (sample, controller, forward replay, host sync; CUDA events); `--profile` adds
torch.profiler tables at batch 1 and 8. Writes the results as JSON to
$OUT/local17.json when OUT is set. Imports only swireasoning, transformers and torch; skips
without CUDA.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from bench.static_loop import generate_static
from swireasoning.batcher import BatchEngine, Request, StaticRows
from swireasoning.controller import SwiRConfig, SwiRController
from swireasoning.decode import PromptBatch, SamplingParams, decode_one, generate, prefill
from swireasoning.fused import FusedSwiRController
from swireasoning.static_decode import GraphedStep, SlotCache, StaticStep, prefill_slot

log = logging.getLogger("bench.local_gpu")
SAMPLING = SamplingParams(temperature=0.6, top_p=0.95, top_k=20)
GREEDY = SamplingParams(temperature=0.0)
PROMPT_LEN = 32
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
QWEN3_4B = dict(
    hidden_size=2560, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
    intermediate_size=9728, vocab_size=151_936, tie_word_embeddings=True, max_position_embeddings=40_960,
    rope_theta=1_000_000.0, rms_norm_eps=1e-6,
)  # fmt: skip


SMOKE = dict(
    hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
    intermediate_size=128, vocab_size=2048, tie_word_embeddings=True, max_position_embeddings=512,
)  # fmt: skip


def build_model(device: str, shape: dict[str, Any], dtype: torch.dtype | None = None):
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    config = Qwen3Config(**shape)
    with torch.device(device):
        model: Any = Qwen3ForCausalLM(config)
    return model.to(dtype or (torch.bfloat16 if device == "cuda" else torch.float32)).eval()


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def prompts(batch: int, device: str, vocab: int) -> PromptBatch:
    g = torch.Generator().manual_seed(batch)
    ids = torch.randint(1000, vocab - 1000, (batch, PROMPT_LEN), generator=g).to(device)
    mask = torch.ones_like(ids)
    position = (mask.cumsum(-1) - 1).clamp(min=0)
    return PromptBatch(ids, mask, position, position[:, -1] + 1)


def swir_cfg(tokens: int, vocab: int) -> SwiRConfig:
    """Qwen3's anchors and forced words (a random model has no tokenizer); never ends early."""
    think, end = min(151_667, vocab - 2), min(151_668, vocab - 1)
    return SwiRConfig(
        think_id=think, end_think_id=end, linebreak_id=198, eos_ids=(-1,), math_ids=tuple(range(15, 300)),
        convergence_ids=(end,), termination_ids=(end, 271, 785, 1590, 4226, 374), max_new_tokens=tokens,
    )  # fmt: skip


def timed(fn: Callable[[], int]) -> float:
    """tokens/s of one call (synchronised around it)."""
    sync()
    t0 = time.perf_counter()
    tokens = fn()
    sync()
    return tokens / (time.perf_counter() - t0)


def count(steps) -> int:
    return sum(int(s.ids.numel()) for s in steps)


def hf_generate(model, batch: PromptBatch, tokens: int) -> int:
    out = model.generate(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask, max_new_tokens=tokens, min_new_tokens=tokens,
        do_sample=True, temperature=SAMPLING.temperature, top_p=SAMPLING.top_p, top_k=SAMPLING.top_k,
    )  # fmt: skip
    return int((out.shape[1] - batch.input_ids.shape[1]) * out.shape[0])


def eager(model, batch: PromptBatch, tokens: int, swir: bool) -> int:
    b, device = batch.input_ids.shape[0], batch.input_ids.device
    controller = SwiRController(swir_cfg(tokens, model.config.vocab_size), b, device) if swir else None
    g = torch.Generator(device=device).manual_seed(0)
    steps = generate(model, batch, max_new_tokens=tokens, sampling=SAMPLING, eos_ids=(-1,), controller=controller,
                     generator=g)  # fmt: skip
    return count(steps)


def fast(model, step: GraphedStep, batch: PromptBatch, tokens: int, swir: bool, fused: bool = True) -> int:
    """The static path; SwiReasoning with the fused controller step, or the eager one compiled."""
    b, device = batch.input_ids.shape[0], batch.input_ids.device
    kind = FusedSwiRController if fused else SwiRController
    controller = kind(swir_cfg(tokens, model.config.vocab_size), b, device) if swir else None
    g = torch.Generator(device=device).manual_seed(0)
    steps = generate_static(
        model, batch, max_new_tokens=tokens, sampling=SAMPLING, eos_ids=(-1,), controller=controller, generator=g,
        step=step, compile_controller=swir and not fused,
    )  # fmt: skip
    return count(steps)


def floor(model, batch: int, bandwidth: float) -> float:
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    return batch * bandwidth / weight_bytes


def bandwidth() -> float:
    """Device-to-device copy, bytes read + written per second."""
    x = torch.empty(1 << 30, dtype=torch.uint8, device=DEVICE)
    y = torch.empty_like(x)
    y.copy_(x)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(10):
        y.copy_(x)
    torch.cuda.synchronize()
    return 2 * 10 * x.numel() / (time.perf_counter() - t0)


def batch_row(
    model, step: GraphedStep, b: int, a: argparse.Namespace, bw: float, uncompiled: GraphedStep
) -> dict[str, Any]:
    batch = prompts(b, DEVICE, model.config.vocab_size)
    row: dict[str, Any] = {"batch": b}
    fast(model, step, batch, 8, False)  # compile and capture this batch size
    fast(model, step, batch, 8, True)
    row["fast_plain"] = timed(lambda: fast(model, step, batch, a.tokens, False))
    row["fast_swir"] = timed(lambda: fast(model, step, batch, a.tokens, True))
    row["swir_over_plain"] = row["fast_swir"] / row["fast_plain"]
    fast(model, step, batch, 8, True, fused=False)
    row["fast_swir_compiled"] = timed(lambda: fast(model, step, batch, a.tokens, True, fused=False))
    eager(model, batch, 2, False)
    row["eager_plain"] = timed(lambda: eager(model, batch, a.eager_tokens, False))
    row["eager_swir"] = timed(lambda: eager(model, batch, a.eager_tokens, True))
    row["hf_generate"] = timed(lambda: hf_generate(model, batch, a.hf_tokens))
    row["floor"] = floor(model, b, bw) if b <= 8 else None
    if row["floor"] is not None:
        row["floor_ms_per_step"] = 1000 * b / row["floor"]
    for swir in (False, True):
        d = breakdown(model, step, b, swir, eager_graph=None if swir or b > 8 else uncompiled)
        row[f"breakdown_{'swir' if swir else 'plain'}"] = d
        print(show_breakdown(b, swir, d))
    log.info("batch %d: %s", b, row)
    return row


def concurrent(model, step: GraphedStep, jobs: int, tokens: int) -> dict[str, float]:
    """`jobs` requests submitted together to the batched engine, against one alone (aggregate tok/s)."""
    cfg = swir_cfg(tokens, model.config.vocab_size)
    engine = BatchEngine(StaticRows(model, (-1,), cfg, step.step.kv.capacity, 0, graph=step))

    def run(n: int, max_new: int) -> int:
        tickets = [
            engine.submit(Request(prompts(1, DEVICE, model.config.vocab_size), SAMPLING, max_new,
                                  torch.Generator(device=DEVICE).manual_seed(i)))
            for i in range(n)
        ]  # fmt: skip
        return sum(count(t) for t in tickets)

    run(jobs, 4)  # capture the bucket sizes the engine will use
    run(1, 4)
    alone = timed(lambda: run(1, tokens))
    together = timed(lambda: run(jobs, tokens))
    return {"jobs": jobs, "one_alone": alone, "together": together, "speedup": together / alone}


FP32_CHECK = dict(
    hidden_size=1024, num_hidden_layers=4, num_attention_heads=16, num_key_value_heads=8, head_dim=64,
    intermediate_size=2816, vocab_size=32_000, tie_word_embeddings=True, max_position_embeddings=4096,
    initializer_range=0.1,  # sharper logits than the default 0.02: argmax rarely a near-tie
)  # fmt: skip


def compare(model, step: GraphedStep, tokens: int) -> tuple[int, int, float]:
    """The fast path against the eager loop: (greedy steps equal before the first difference, steps
    whose argmax agree when both are fed the eager loop's tokens, the largest logit difference
    relative to the largest logit)."""
    from transformers import DynamicCache

    batch = prompts(2, DEVICE, model.config.vocab_size)
    ref = [s.ids.tolist() for s in generate(model, batch, max_new_tokens=tokens, sampling=GREEDY, eos_ids=(-1,))]
    got = [s.ids.tolist() for s in generate_static(model, batch, max_new_tokens=tokens, sampling=GREEDY, eos_ids=(-1,),
                                                   step=step)]  # fmt: skip
    same = next((t for t, (a, b) in enumerate(zip(ref, got, strict=True)) if a != b), tokens)
    cache = DynamicCache(config=model.config)
    prefill(model, batch, cache)
    for i in range(2):
        prefill_slot(model, step.step.kv, i, batch.input_ids[i])
    emb, worst, agree = model.get_input_embeddings().weight, 0.0, 0
    mask, position = batch.attention_mask, batch.next_position.clone()
    for t in range(tokens):
        ids = torch.tensor(ref[t], device=DEVICE)
        mask = torch.cat([mask, mask.new_ones(2, 1)], dim=1)
        eager_logits = decode_one(model, emb[ids][:, None], position, mask, cache, False).float()
        fast_logits = step(emb[ids][:, None], position, position).float()
        worst = max(worst, float(((eager_logits - fast_logits).abs().max() / eager_logits.abs().max()).item()))
        agree += int((eager_logits.argmax(-1) == fast_logits.argmax(-1)).all())
        position = position + 1
    return same, agree, worst


def check(model, step: GraphedStep, tokens: int = 48) -> dict[str, Any]:
    """bf16, the bench's model: a wrong cache, mask or rotation moves the logits by their own size
    (relative difference ~1), while bf16 kernels that sum in another order move them by a few
    percent over 36 layers, and a random model's near-flat logits turn that into argmax flips (the
    first run: 17/48 greedy steps equal, argmax agreeing at 42/48 teacher-forced steps, relative
    difference 0.05). So the bf16 verdict bounds the relative difference (<= 0.1) and the
    teacher-forced agreement (>= 0.8): PASS when greedy is equal throughout, PASS (numerics) within
    the bounds, else FAIL. `check_fp32` is the exact test."""
    same, agree, worst = compare(model, step, tokens)
    ok = worst <= 0.1 and agree >= 0.8 * tokens
    verdict = "PASS" if same == tokens else ("PASS (numerics)" if ok else "FAIL")
    print(f"{verdict}: bf16 fast path vs eager loop, greedy: {same}/{tokens} steps equal; teacher-forced: "
          f"argmax agrees at {agree}/{tokens} steps, logits max |diff| / max |logit| = {worst:.4f} "
          "(bounds 0.8, 0.1)")  # fmt: skip
    return {"verdict": verdict, "equal_steps": same, "steps": tokens, "argmax_agree": agree, "logits_rel_diff": worst}


def check_fp32(compile: bool, shape: dict[str, Any], tokens: int = 48) -> dict[str, Any]:
    """float32, a smaller random Qwen3 with sharper logits, its own compiled and captured step: the
    two paths differ by summation order only (~1e-6 relative), so greedy tokens must be equal
    throughout (PASS), or differ at a rare near-tie only: teacher-forced argmax agreeing at all but
    one step and logits within 1e-3 relative (PASS (near-tie)); else FAIL."""
    prev = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # float32 matmuls in float32, both paths
    try:
        model = build_model(DEVICE, shape, torch.float32)
        step = GraphedStep(StaticStep(model, SlotCache(model, 2, 128)), compile=compile)
        same, agree, worst = compare(model, step, tokens)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = prev
    near = agree >= tokens - 1 and worst <= 1e-3
    verdict = "PASS" if same == tokens else ("PASS (near-tie)" if near else "FAIL")
    print(f"{verdict}: fp32 fast path vs eager loop, greedy: {same}/{tokens} steps equal; teacher-forced: argmax "
          f"agrees at {agree}/{tokens} steps, logits max |diff| / max |logit| = {worst:.2e}")  # fmt: skip
    return {"verdict": verdict, "equal_steps": same, "steps": tokens, "argmax_agree": agree, "logits_rel_diff": worst}


class Marks:
    """Timestamps on the GPU stream (CUDA events), or the host clock on the CPU; ms between them."""

    def __init__(self) -> None:
        self.at: list[Any] = []

    def mark(self) -> None:
        if DEVICE == "cuda":
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self.at.append(event)
        else:
            self.at.append(time.perf_counter())

    def ms(self, i: int, j: int) -> float:
        a, b = self.at[i], self.at[j]
        return float(a.elapsed_time(b)) if DEVICE == "cuda" else 1000 * (b - a)


def back_to_back(step: GraphedStep, embeds, position, write, steps: int) -> float:
    """ms per replay of `step` replayed `steps` times with nothing between."""
    step(embeds, position, write)  # captured before timing
    m = Marks()
    m.mark()
    for _ in range(steps):
        step(embeds, position, write)
    m.mark()
    sync()
    return m.ms(0, 1) / steps


def breakdown(
    model, step: GraphedStep, b: int, swir: bool, steps: int = 24, eager_graph: GraphedStep | None = None
) -> dict[str, float]:
    """One decode step taken apart, ms of stream time each (a part's launch gaps included): sample,
    controller (+ embedding gather / mixture), forward (the captured step's replay), host sync; `step`
    is mark to mark; `forward_alone` is the replay back to back (no gaps: the step's own cost)."""
    from swireasoning.decode import sample
    from swireasoning.mixture import next_embeddings

    batch, emb = prompts(b, DEVICE, model.config.vocab_size), model.get_input_embeddings().weight
    logits, length = prefill_slot(model, step.step.kv, 0, batch.input_ids)
    position, write = batch.next_position.clone(), torch.full((b,), length, device=DEVICE)
    controller = FusedSwiRController(swir_cfg(steps, model.config.vocab_size), b, DEVICE) if swir else None
    g, runs = torch.Generator(device=DEVICE).manual_seed(0), []
    with torch.inference_mode():
        for _ in range(steps):
            m = Marks()
            m.mark()
            sampled = sample(logits, SAMPLING, g)
            m.mark()
            embeds = emb[sampled] if controller is None else next_embeddings(controller.step(logits, sampled), emb)
            m.mark()
            logits = step(embeds[:, None], position, write)
            m.mark()
            torch.stack([sampled.min(), sampled.max()]).tolist()  # the loop's one sync per step
            m.mark()
            position, write = position + 1, write + 1
            runs.append(m)
        sync()
        warm = runs[4:]  # the first steps allocate
        out = {p: sum(m.ms(i, i + 1) for m in warm) / len(warm) for i, p in enumerate(PARTS)}
        out["step"] = sum(m.ms(0, 4) for m in warm) / len(warm)
        out["forward_alone"] = back_to_back(step, embeds[:, None], position, write, steps)
        if eager_graph is not None:  # the same step captured without torch.compile: is inductor's faster?
            out["forward_alone_uncompiled"] = back_to_back(eager_graph, embeds[:, None], position, write, steps)
    return out


PARTS = ("sample", "controller", "forward", "host_sync")


def show_breakdown(b: int, swir: bool, d: dict[str, float]) -> str:
    parts = ", ".join(f"{p} {d[p]:.3f}" for p in PARTS)
    uncompiled = f" (uncompiled capture {d['forward_alone_uncompiled']:.3f})" if "forward_alone_uncompiled" in d else ""
    return (f"breakdown, batch {b} {'SwiR' if swir else 'plain'} (ms per step, serial): {parts}; "
            f"sum {d['step']:.3f}; forward replayed back to back {d['forward_alone']:.3f}{uncompiled}")  # fmt: skip


def profile_steps(model, step: GraphedStep, b: int) -> None:
    """torch.profiler over 20 fast steps, plain then SwiReasoning: the top 15 ops by self time."""
    from torch.profiler import ProfilerActivity, profile

    batch = prompts(b, DEVICE, model.config.vocab_size)
    fast(model, step, batch, 4, True)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if DEVICE == "cuda" else [])
    with profile(activities=activities) as prof:
        fast(model, step, batch, 20, False)
        fast(model, step, batch, 20, True)
    averages = prof.key_averages()
    for key in (["self_device_time_total"] if DEVICE == "cuda" else []) + ["self_cpu_time_total"]:
        print(f"profile, batch {b}, 20 plain + 20 SwiR steps, by {key}:")
        print(averages.table(sort_by=key, row_limit=15))


def guarded(what: str, fn: Callable[[], Any]) -> Any:
    """One part's failure is reported and the others still run (one GPU session for everything)."""
    try:
        return fn()
    except Exception as exc:
        log.exception("%s failed", what)
        print(f"FAIL: {what}: {type(exc).__name__}: {exc}")
        return None


def table(rows: list[dict[str, Any]], conc: dict[str, float] | None) -> str:
    def f(x: float | None) -> str:
        return "—" if x is None else f"{x:,.1f}"

    lines = [
        "| batch | HF generate() | our loop, plain | our loop, SwiR | fast, plain | fast, SwiR (fused step) "
        "| fast, SwiR (compiled eager step) | SwiR / plain | floor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['batch']} | {f(r['hf_generate'])} | {f(r['eager_plain'])} | {f(r['eager_swir'])} | "
            f"{f(r['fast_plain'])} | {f(r['fast_swir'])} | {f(r.get('fast_swir_compiled'))} | "
            f"{r['swir_over_plain']:.2f} | {f(r['floor'])} |"
        )
    if conc is None:
        return "\n".join(lines)
    lines.append(
        f"\n{conc['jobs']} concurrent requests through the batched engine: {conc['together']:,.1f} tok/s in all; "
        f"one alone {conc['one_alone']:,.1f} tok/s; {conc['speedup']:.2f}x"
    )
    return "\n".join(lines)


def measure(a: argparse.Namespace) -> dict[str, Any]:
    """Every part of the bench, each guarded: a failure is printed and the rest still runs."""
    name = torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu (smoke)"
    result: dict[str, Any] = {"torch": torch.__version__, "device": name}
    model = build_model(DEVICE, SMOKE if a.smoke else QWEN3_4B)
    batches = [int(b) for b in a.batches.split(",")]
    step = GraphedStep(StaticStep(model, SlotCache(model, max(batches), 256)), compile=not a.no_compile)
    bw = bandwidth() if DEVICE == "cuda" else 1e9
    result["bandwidth_GBps"] = bw / 1e9
    result["rows"] = []
    uncompiled = GraphedStep(step.step, compile=False)  # the breakdown's comparison (batch 1 and 8)
    for b in batches:
        row = guarded(f"batch {b}", lambda b=b: batch_row(model, step, b, a, bw, uncompiled))  # type: ignore[misc]
        if row is not None:
            result["rows"].append(row)
    result["concurrent"] = guarded("concurrent", lambda: concurrent(model, step, 8, a.tokens))
    result["check"] = guarded("check", lambda: check(model, step))  # after the batches: no extra compile
    if a.profile:
        for b in (1, 8):
            guarded(f"profile {b}", lambda b=b: profile_steps(model, step, b))  # type: ignore[misc]
    fp32_shape = SMOKE if a.smoke else FP32_CHECK
    result["check_fp32"] = guarded("check fp32", lambda: check_fp32(not a.no_compile, fp32_shape))
    return result


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    p = argparse.ArgumentParser()
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--eager-tokens", type=int, default=48)
    p.add_argument("--hf-tokens", type=int, default=24)
    p.add_argument("--batches", default="1,8,32")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--profile", action="store_true", help="also print torch.profiler tables at batch 1 and 8")
    p.add_argument("--smoke", action="store_true", help="a tiny model on this machine: the bench's code, not its speed")
    a = p.parse_args()
    out = Path(os.environ["OUT"]) / "local17.json" if os.environ.get("OUT") else None
    if not torch.cuda.is_available() and not a.smoke:
        print("skipped: no CUDA device (this bench measures the local engine on a GPU)")
        if out:
            out.write_text(json.dumps({"skipped": "no CUDA device"}))
        return
    t0 = time.perf_counter()
    result = measure(a)
    result["seconds"] = time.perf_counter() - t0
    print(table(result["rows"], result["concurrent"]))
    for r in result["rows"]:
        for swir, key in ((False, "breakdown_plain"), (True, "breakdown_swir")):
            print(show_breakdown(r["batch"], swir, r[key]))
        if r.get("floor_ms_per_step"):
            print(f"batch {r['batch']}: floor {r['floor_ms_per_step']:.3f} ms per step")
    compiled = "off" if a.no_compile else "on"
    print(f"bandwidth {result['bandwidth_GBps']:,.0f} GB/s; compile={compiled}; {result['seconds']:.0f} s")
    if out:
        out.write_text(json.dumps(result, indent=1))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
