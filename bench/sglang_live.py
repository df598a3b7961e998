"""The SwiReasoning plugin's cost per decoded token inside a live SGLang server, and what the demo's full
path adds over a client talking to that server directly, measured side by side in one run (CPU).

    python -m bench.sglang_live [--json] [--runs N] [--tokens T]

Servers: the tiny qwen3_5_moe as rio-3.5-open-397b from sglang_config/rio-3.5-open-397b.cpu.yaml
(tests/support/sglang_live.py), once with SGLANG_PLUGINS=rio_swireasoning and once without.
- Plugin cost: the same prompts and seeds, streamed, alternating three columns per run: SwiReasoning
  on and off (plugin loaded) and the plugin not loaded; the per-token gap (mean time between text
  chunks, prefill excluded), median over runs; ratios against "not loaded".
- Full path: JobClient -> Celery on Redis -> worker -> SGLangBackend -> server, against an httpx
  stream of the same request body to the same server, alternately; added TTFT and per-token gap are
  paired differences (medians).
A CPU run measures the plugin's host-side work and eager torch step, not the CUDA path (fused Triton
step, decode graphs): bench.swireasoning_gpu covers that on a GPU.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.support.sglang_live import RIO, LiveServer
from worker.backends.sglang import request_body
from worker.jobs import ChatMessage, JobClient, JobSpec, Reasoning, Sampling
from worker.ops import redis_server
from worker.ops.devstack import free_port, start_worker, stop
from worker.ops.settings import Settings

PROMPTS = ("Tell me about Rio.", "What is in this image?", "Let x = 3 and y = 4. Then x + y = ?",
           "First, think about the question.")  # fmt: skip
CONTENT = ("reasoning", "answer")


def spec(i: int, tokens: int, mode: str) -> JobSpec:
    return JobSpec(model=RIO.key, messages=[ChatMessage(role="user", content=PROMPTS[i % len(PROMPTS)])],
                   sampling=Sampling(max_tokens=tokens, seed=i), reasoning=Reasoning(mode=mode))  # fmt: skip


def gaps_of(stamps: list[float], t0: float) -> tuple[float, float]:
    """(TTFT ms, mean gap between text chunks ms)."""
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return (stamps[0] - t0) * 1000, (statistics.mean(gaps) * 1000 if gaps else 0.0)


def direct(http: httpx.Client, url: str, job: JobSpec) -> tuple[float, float]:
    """An OpenAI-style client on the server itself: the same body the worker sends, text chunk times."""
    body = {**request_body(job, None, RIO.key), "ignore_eos": True}  # type: ignore[arg-type]
    t0, stamps = time.perf_counter(), []
    with http.stream("POST", f"{url}/v1/chat/completions", json=body) as resp:
        for line in resp.iter_lines():
            if '"reasoning_content":"' in line or '"content":"' in line:
                stamps.append(time.perf_counter())
    return gaps_of(stamps, t0)


def plugin_cost(http: httpx.Client, loaded: str, bare: str, runs: int, tokens: int) -> dict[str, list[float]]:
    columns = {"swir_on": (loaded, "swireasoning"), "swir_off": (loaded, "thinking"), "no_plugin": (bare, "thinking")}
    out: dict[str, list[float]] = {name: [] for name in columns}
    for i in range(runs + 1):
        for name, (url, mode) in columns.items():
            gap = direct(http, url, spec(i, tokens, mode))[1]
            if i:  # run 0 warms up
                out[name].append(gap)
    return out


async def through_path(client: JobClient, job: JobSpec) -> tuple[float, float]:
    t0 = time.perf_counter()
    await client.submit(job)
    stamps = [time.perf_counter() async for e in client.events(job.id) if e.type in CONTENT]
    return gaps_of(stamps, t0)


async def full_path(settings: Settings, http: httpx.Client, url: str, runs: int, tokens: int) -> dict[str, list[float]]:
    client = JobClient.from_settings(settings)
    out: dict[str, list[float]] = {"ttft_direct": [], "gap_direct": [], "ttft_path": [], "gap_path": []}
    for i in range(runs + 1):
        job = spec(i, tokens, "off")
        alone = await asyncio.to_thread(direct, http, url, job)
        path = await through_path(client, job.model_copy(update={"id": uuid.uuid4().hex}))  # a rid of its own
        if i:
            for key, v in zip(("ttft_direct", "gap_direct", "ttft_path", "gap_path"), (*alone, *path), strict=True):
                out[key].append(v)
    await client.redis.aclose()
    return out


def worker_stack(tmp: Path, url: str) -> Generator[Settings, None, None]:
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", var_dir=tmp, rio_sglang_url=url,
                        sglang_read_timeout_s=120.0)  # fmt: skip
    procs = [redis_server.start(settings)]
    try:
        procs.append(start_worker(settings, "sglang", RIO_WORKER_MODELS=RIO.key))
        yield settings
    finally:
        for p in reversed(procs):
            stop(p)


def summary(cost: dict[str, list[float]], path: dict[str, list[float]], runs: int, tokens: int) -> dict:
    med = {k: statistics.median(v) for k, v in {**cost, **path}.items()}
    spread = {f"{k}_min_max": [min(v), max(v)] for k, v in cost.items()}
    return {
        **med, **spread,
        "swir_on_vs_no_plugin": med["swir_on"] / med["no_plugin"],
        "swir_off_vs_no_plugin": med["swir_off"] / med["no_plugin"],
        "added_ttft_ms": statistics.median(a - b for a, b in zip(path["ttft_path"], path["ttft_direct"], strict=True)),
        "added_gap_ms": statistics.median(a - b for a, b in zip(path["gap_path"], path["gap_direct"], strict=True)),
        "runs": runs, "tokens": tokens, "machine": platform.processor() or platform.machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip


def table(r: dict) -> str:
    lines = ["| per decoded token (median) | ms | vs plugin not loaded |", "|---|---:|---:|"]
    for name, key in (("plugin not loaded", "no_plugin"), ("plugin loaded, SwiReasoning off", "swir_off"),
                      ("plugin loaded, SwiReasoning on", "swir_on")):  # fmt: skip
        lines.append(f"| {name} | {r[key]:.2f} | {r[key] / r['no_plugin']:.2f}× |")
    lines += ["", "| full path vs direct client (median) | direct ms | full path ms | added ms |",
              "|---|---:|---:|---:|",
              f"| TTFT | {r['ttft_direct']:.1f} | {r['ttft_path']:.1f} | {r['added_ttft_ms']:.1f} |",
              f"| per-token gap | {r['gap_direct']:.2f} | {r['gap_path']:.2f} | {r['added_gap_ms']:.2f} |"]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=48)
    args = parser.parse_args()
    servers = [LiveServer(RIO), LiveServer(RIO, plugin=False)]
    try:
        for s in servers:
            s.start()
        loaded, bare = (s.wait() for s in servers)
        with httpx.Client(timeout=300) as http, tempfile.TemporaryDirectory() as tmp:
            cost = plugin_cost(http, loaded, bare, args.runs, args.tokens)
            stack = worker_stack(Path(tmp), loaded)
            settings = next(stack)
            try:
                path = asyncio.run(full_path(settings, http, loaded, args.runs, args.tokens))
            finally:
                stack.close()
    finally:
        for s in servers:
            s.kill()
    result = summary(cost, path, args.runs, args.tokens)
    print(json.dumps(result) if args.json else table(result))


if __name__ == "__main__":
    main()
