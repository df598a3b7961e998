"""What the full path adds over calling the engine in-process, measured side by side in one run.

    python -m bench.pipeline [--json] [--runs N]

Path: JobClient.submit -> Celery on Redis -> worker -> backend -> Redis Stream -> XREAD in the client.
- 1 stream, tiny model: each run calls the same `LocalBackend` in this process and through the path,
  alternately, same prompt and seed; added TTFT and added per-token gap are paired differences.
- 64 streams, `paced` backend (fixed 10 ms/token, no compute): 64 users in a closed loop, each running
  jobs back to back (64 streams in flight), through the path vs in-process; added TTFT at p99.
  Served by one worker process per core (threads pool), as remote-backend workers are deployed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import tempfile
import time
from collections.abc import Generator
from pathlib import Path

from worker.backends.base import JobContext
from worker.backends.local import LocalBackend, LocalEngine
from worker.backends.paced import PacedBackend
from worker.jobs import ChatMessage, JobClient, JobSpec, Reasoning, Sampling
from worker.ops import redis_server
from worker.ops.devstack import ROOT, free_port, start_worker, stop
from worker.ops.settings import Settings
from worker.ops.tiny_model import build

CONTENT = ("reasoning", "answer")
PATH_HOPS = ("submit → queued", "queued → started", "started → first token", "first token → read")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def timings(stamps: list[float], t0: float) -> tuple[float, float]:
    """(TTFT ms, mean gap between tokens ms) from the arrival times of content events."""
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return (stamps[0] - t0) * 1000, (statistics.mean(gaps) * 1000 if gaps else 0.0)


def no_images(ref: str) -> bytes:
    """The bench's jobs are text only: an image lookup is a bug in the bench."""
    raise LookupError(f"the pipeline bench sends no images, yet {ref} was asked for")


def in_process(backend, spec: JobSpec) -> tuple[float, float]:
    t0 = time.perf_counter()
    stamps = [time.perf_counter() for e in backend.execute(spec, JobContext("bench", no_images)) if e.type in CONTENT]
    return timings(stamps, t0)


async def through_path(client: JobClient, spec: JobSpec, hops: list[dict[str, float]] | None = None
                       ) -> tuple[float, float]:  # fmt: skip
    t0, wall0 = time.perf_counter(), time.time()
    await client.submit(spec)
    stamps = [time.perf_counter() async for e in client.events(spec.id) if e.type in CONTENT]
    if hops is not None:
        hops.append(await path_hops(client, spec.id, wall0, time.time() - (time.perf_counter() - stamps[0])))
    return timings(stamps, t0)


async def path_hops(client: JobClient, job_id: str, submitted: float, read: float) -> dict[str, float]:
    """Where one job's first token spent its time (ms): the client's clock at both ends, Redis's entry
    ids (millisecond stamps) in between."""
    at = await client.stored_hops(job_id)
    ends = (submitted, at["enqueued"], at["started"], at["written"], read)
    return {name: 1000 * (b - a) for name, a, b in zip(PATH_HOPS, ends, ends[1:], strict=False)}


async def idle_round_trips(client: JobClient, pings: int = 20) -> dict[str, float]:
    """A Redis PING's round trip (p50 ms) after the process sat idle: what each cross-process hop of a
    lone job pays on a machine whose idle CPUs sleep."""
    out = {}
    for idle_s in (0.0, 0.1, 0.5):
        times = []
        for _ in range(pings):
            await asyncio.sleep(idle_s)
            t0 = time.perf_counter()
            await client.redis.ping()
            times.append(1000 * (time.perf_counter() - t0))
        out[f"ping_ms_after_{idle_s * 1000:.0f}_ms_idle"] = statistics.median(times)
    return out


def job(model: str, tokens: int, seed: int) -> JobSpec:
    return JobSpec(
        model=model,
        messages=[ChatMessage(role="user", content="Benchmark the pipeline, please.")],
        sampling=Sampling(max_tokens=tokens, seed=seed, temperature=0.0),
        reasoning=Reasoning(mode="off"),
    )


async def one_stream(client: JobClient, backend: LocalBackend, runs: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"ttft": [], "gap": [], "ttft_in": [], "gap_in": []}
    hops: list[dict[str, float]] = []
    for i in range(runs + 1):
        spec = job("tiny-random", 48, seed=i)
        local = in_process(backend, spec)
        remote = await through_path(client, spec, hops)
        if i == 0:
            continue  # warm-up
        for key, value in zip(("ttft_in", "gap_in", "ttft", "gap"), (*local, *remote), strict=True):
            out[key].append(value)
    for name in hops[0]:
        out[name] = [h[name] for h in hops[1:]]
    return out


async def user(run, specs: list[JobSpec], delay_s: float) -> list[float]:
    """One of N concurrent users: waits its stagger, then runs its jobs back to back."""
    await asyncio.sleep(delay_s)
    return [(await run(spec))[0] for spec in specs]


async def many_streams(client: JobClient, streams: int, jobs_each: int = 4) -> tuple[list[float], list[float]]:
    """`streams` users in a closed loop (64 streams in flight at any time), paced 100-token jobs.

    Starts are staggered over one job's length, as a crowd arrives, not as one synchronized burst."""
    paced = PacedBackend()
    spread = 100 * paced.interval_s

    def specs(u: int) -> list[JobSpec]:
        return [job("paced", 100, seed=u * jobs_each + k) for k in range(jobs_each)]

    async def remote(spec: JobSpec) -> tuple[float, float]:
        return await through_path(client, spec)

    async def local(spec: JobSpec) -> tuple[float, float]:
        return await asyncio.to_thread(in_process, paced, spec)

    out = []
    for run in (remote, local):
        per_user = await asyncio.gather(*(user(run, specs(u), spread * u / streams) for u in range(streams)))
        out.append([t for ts in per_user for t in ts])
    return out[0], out[1]


def stack(tmp: Path) -> Generator[Settings, None, None]:
    model = ROOT / "var" / "models" / "tiny-random"
    if not (model / "TINY_RANDOM").exists():
        build(model)
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", var_dir=tmp, tiny_model_path=model,
                        paced_model=True)  # fmt: skip
    procs = [redis_server.start(settings)]
    try:
        procs.append(start_worker(settings, "tiny", RIO_WORKER_MODELS="tiny-random"))
        # remote-backend workers are GIL-bound threads: one process per core, as deployed (README)
        cores = os.cpu_count() or 1
        for i in range(cores):
            threads = str(-(-64 // cores))
            procs.append(start_worker(settings, f"paced{i}", RIO_WORKER_MODELS="paced", RIO_WORKER_CONCURRENCY=threads))
        yield settings
    finally:
        for p in reversed(procs):
            stop(p)


async def measure(settings: Settings, runs: int, streams: int) -> dict:
    client = JobClient.from_settings(settings)
    backend = LocalBackend(LocalEngine.load(str(settings.tiny_model_path)), 8192)
    one = await one_stream(client, backend, runs)
    idle = await idle_round_trips(client)
    await many_streams(client, 8, jobs_each=1)  # warm the thread pools
    remote64, local64 = await many_streams(client, streams)
    await client.redis.aclose()
    added_ttft = [a - b for a, b in zip(one["ttft"], one["ttft_in"], strict=True)]
    added_gap = [a - b for a, b in zip(one["gap"], one["gap_in"], strict=True)]
    return {
        "added_ttft_ms_p50": statistics.median(added_ttft),
        "added_ttft_ms_p99_64": pct(remote64, 0.99) - pct(local64, 0.99),
        "added_per_token_ms_p50": statistics.median(added_gap),
        "ttft_ms_p50_in_process": statistics.median(one["ttft_in"]),
        "ttft_ms_p50_full_path": statistics.median(one["ttft"]),
        "per_token_ms_p50_in_process": statistics.median(one["gap_in"]),
        "per_token_ms_p50_full_path": statistics.median(one["gap"]),
        "ttft_ms_p99_64_in_process": pct(local64, 0.99),
        "ttft_ms_p99_64_full_path": pct(remote64, 0.99),
        "ttft_ms_p50_64_full_path": pct(remote64, 0.5),
        "runs": runs,
        "streams": streams,
        "hops_ms_p50_1_stream": {name: statistics.median(one[name]) for name in PATH_HOPS},
        **idle,
    }


def table(r: dict) -> str:
    rows = [
        ("TTFT p50, 1 stream (tiny model)", "ttft_ms_p50_in_process", "ttft_ms_p50_full_path", "added_ttft_ms_p50"),
        ("per-token gap p50, 1 stream", "per_token_ms_p50_in_process", "per_token_ms_p50_full_path",
         "added_per_token_ms_p50"),
        (f"TTFT p99, {r['streams']:.0f} streams (paced)", "ttft_ms_p99_64_in_process", "ttft_ms_p99_64_full_path",
         "added_ttft_ms_p99_64"),
    ]  # fmt: skip
    lines = ["| measure | in-process ms | full path ms | added ms |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {r[a]:.2f} | {r[b]:.2f} | {r[c]:.2f} |" for name, a, b, c in rows]
    hops = r["hops_ms_p50_1_stream"]
    assert isinstance(hops, dict)
    pings = {k.split("_after_")[1].replace("_", " "): v for k, v in r.items() if k.startswith("ping_ms_after")}
    lines += ["", "1 stream, where the first token's time goes (p50 ms): "
              + ", ".join(f"{name} {hops[name]:.2f}" for name in PATH_HOPS) + ".",
              "Redis PING round trip p50 after the process sat idle "
              + ", ".join(f"{idle}: {ms:.2f} ms" for idle, ms in pings.items()) + "."]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--streams", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gen = stack(Path(tmp))
        settings = next(gen)
        try:
            result = asyncio.run(measure(settings, args.runs, args.streams))
        finally:
            gen.close()
    print(json.dumps(result) if args.json else table(result))


if __name__ == "__main__":
    main()
