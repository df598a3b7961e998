"""How many chat streams one web process holds, and what each update costs, beside plain Gradio.

    python -m bench.web [--json] [--sessions 64,256,512] [--tokens 100] [--interval-s 0.05]

Starts Redis, paced workers (20 tokens/s by default: 100 tokens is a 5 s answer) and one web process
(`python -m demo`); a load generator in a separate process (`bench.web_load`: one async httpx
client speaking Gradio's queue protocol, HTTP + server-sent events) starts N chat sessions at once.
Per N it reports the web process's CPU (from /proc: user + system) per delivered page update and
per delivered token, first visible token p50/p99, lag p99, tokens/s per stream and errors; then the
same load on a plain Gradio app (`bench.web_plain`) streaming the same text into a `gr.Chatbot` at
the same cadence, and our CPU per update as a ratio of it. Per N too: where our first tokens spent
their time, hop by hop (the web's hop log, `RIO_HOP_LOG`, joined by session with the load
generator's clock), and N browsers opening the page at once (`GET /`, `/config`, the page's load
events) to an interactive page, ours and the plain app's. The machine's load average is reported
too: other processes on these small machines shift every figure.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from demo.chat import render_interval_s
from worker.ops import redis_server
from worker.ops.devstack import ROOT, answers, env_for, free_port, spawn, start_worker, stop, wait_for
from worker.ops.settings import Settings

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
HOP_LOG = "hops.jsonl"  # the web's per-job hop log (demo/hops.py), in the bench's temporary directory
# A first token's path, as (name, from, to): the visitor's clock ("joined", "shown"), the web's and the
# worker's (demo/hops.py); all wall-clock seconds on this one machine.
HOPS = (("page → web", "joined", "received"), ("turn stored", "received", "stored"),
        ("job published", "stored", "enqueued"), ("Celery dispatch", "enqueued", "started"),
        ("first token", "started", "written"), ("hub read", "written", "read"),
        ("page update", "read", "sent"), ("web → page", "sent", "shown"))  # fmt: skip


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] if xs else float("nan")


@contextmanager
def stack(tmp: Path, sessions: int, interval_s: float) -> Iterator[tuple[Settings, int, str, int, str]]:
    """Redis, paced workers, the web and the plain app: (settings, web pid, web url, plain pid, plain url)."""
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", var_dir=tmp, paced_model=True,
                        web_host="127.0.0.1", web_port=free_port(), requests_per_minute=10**6,
                        jobs_per_client=10**6, max_queue=10**6, web_metrics_port=0, worker_metrics_port=0,
                        hop_log=tmp / HOP_LOG)  # fmt: skip
    procs = [redis_server.start(settings)]
    try:
        cores = os.cpu_count() or 1
        for i in range(cores):  # remote-backend workers: one process per core, threads inside (README)
            procs.append(start_worker(settings, f"paced{i}", RIO_WORKER_MODELS="paced",
                                      RIO_WORKER_CONCURRENCY=str(-(-sessions // cores)),
                                      RIO_PACED_INTERVAL_S=str(interval_s)))  # fmt: skip
        url, port = f"http://127.0.0.1:{settings.web_port}/", free_port()
        plain_url = f"http://127.0.0.1:{port}/"
        web = spawn(["-m", "demo"], env_for(settings), tmp / "web.log")
        plain = spawn(["-m", "bench.web_plain", str(port)], env_for(settings), tmp / "plain.log")
        procs += [web, plain]
        for proc, u in ((web, url), (plain, plain_url)):  # a loaded machine may take minutes
            wait_for(functools.partial(answers, u), 300, u, proc)
        yield settings, web.pid, url, plain.pid, plain_url
    finally:
        for p in reversed(procs):
            stop(p)


def loadgen(url: str, n: int, *flags: str) -> dict:
    """What the load-generator process reports for `n` sessions at once."""
    cmd = [sys.executable, "-m", "bench.web_load", url, "--sessions", str(n), *flags]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, env={**os.environ,
                         "PYTHONPATH": str(ROOT)}).stdout  # fmt: skip
    return json.loads(out)


def load(url: str, pid: int, args: argparse.Namespace, n: int, plain_cadence_s: float | None = None,
         hop_log: Path | None = None) -> dict:  # fmt: skip
    """One burst of `n` sessions from the load-generator process; the figures of one row (with the
    hops of its first tokens where the web keeps a hop log)."""
    flags = ["--tokens", str(args.tokens), "--interval-s", str(args.interval_s)]
    if plain_cadence_s is not None:
        flags += ["--plain", "--cadence-s", str(plain_cadence_s)]
    if hop_log is not None:
        hop_log.write_text("")
    before = cpu_s(pid)
    result = loadgen(url, n, *flags)
    cpu = cpu_s(pid) - before
    out = figures(result["sessions"], cpu, result["wall_s"], args.tokens)
    if hop_log is not None:
        out["hops"] = hop_times(result["sessions"], hop_log)
    return out


def hop_times(sessions: list[dict], hop_log: Path) -> dict:
    """Per hop of the first token's path, p50 and p99 milliseconds over the sessions the web logged."""
    logged = {}
    for line in hop_log.read_text().splitlines():
        entry = json.loads(line)
        logged[entry["session"]] = {**entry["web"], **entry["worker"]}
    times = [{"joined": s["joined_at"], "shown": s["shown_at"], **logged[s["session"]]}
             for s in sessions if s.get("shown_at") and s.get("session") in logged]  # fmt: skip
    out: dict = {"sessions": len(times)}
    for name, start, end in HOPS:
        spans = [1000 * (t[end] - t[start]) for t in times if start in t and end in t]
        out[name] = {"p50_ms": pct(spans, 0.5), "p99_ms": pct(spans, 0.99)}
    return out


def page_loads(url: str, n: int) -> dict:
    """`n` browsers opening the page at once: seconds to an interactive page, p50 and p99."""
    result = loadgen(url, n, "--page-load")
    ready = [s["interactive_s"] for s in result["sessions"] if "interactive_s" in s and not s.get("error")]
    errors = [s for s in result["sessions"] if s.get("error") or "interactive_s" not in s]
    return {"p50_s": pct(ready, 0.5), "p99_s": pct(ready, 0.99), "errors": len(errors),
            "error_sample": errors[0].get("error", "") if errors else ""}  # fmt: skip


def figures(sessions: list[dict], cpu: float, wall_s: float, tokens: int) -> dict:
    updates = sum(s["updates"] for s in sessions)
    delivered = sum(s["tokens"] for s in sessions)
    firsts = [s["first_s"] for s in sessions if s.get("first_s") is not None]
    lags = [lag for s in sessions for lag in s.get("lags_s", [])]
    rates = [s["tokens_per_s"] for s in sessions if s.get("tokens_per_s")]
    errors = [s for s in sessions if s.get("error") or s["tokens"] != tokens]
    return {
        "cpu_ms_per_update": 1000 * cpu / max(1, updates),
        "cpu_ms_per_token": 1000 * cpu / max(1, delivered),
        "cpu_share_of_core": cpu / wall_s,
        "updates": updates,
        "first_token_s_p50": pct(firsts, 0.5),
        "first_token_s_p99": pct(firsts, 0.99),
        "lag_ms_p50": 1000 * pct(lags, 0.5),
        "lag_ms_p99": 1000 * pct(lags, 0.99),
        "tokens_per_s_p50": statistics.median(rates) if rates else 0.0,
        "tokens_per_s_p1": pct(rates, 0.01),
        "errors": len(errors),
        "error_sample": (errors[0].get("error") or f"{errors[0]['tokens']} tokens") if errors else "",
    }


def measure(args: argparse.Namespace) -> dict:
    sizes = [int(n) for n in args.sessions.split(",")]
    rows = []
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, stack(Path(tmp), max(sizes), args.interval_s) as running:
        settings, web_pid, url, plain_pid, plain_url = running
        load(url, web_pid, args, 8)  # warm-up: imports, connections, thread pools
        load(plain_url, plain_pid, args, 8, 0.05)
        for n in sizes:
            cadence = render_interval_s(n, settings.web_updates_per_s)
            ours = load(url, web_pid, args, n, hop_log=settings.hop_log)
            plain = load(plain_url, plain_pid, args, n, cadence)
            ratio = ours["cpu_ms_per_update"] / plain["cpu_ms_per_update"]
            pages = {"ours": page_loads(url, n), "plain": page_loads(plain_url, n)}
            rows.append({"sessions": n, "cadence_s": cadence, "ours": ours, "plain": plain, "page_load": pages,
                         "cpu_per_update_ratio": ratio, "loadavg": os.getloadavg()})  # fmt: skip
    return {"cores": os.cpu_count(), "loadavg_start": load_start, "tokens": args.tokens,
            "interval_s": args.interval_s, "runs": rows}  # fmt: skip


def table(r: dict) -> str:
    lines = [
        f"cores {r['cores']}, load average at start {r['loadavg_start'][0]:.2f}; {r['tokens']} tokens at "
        f"{1 / r['interval_s']:.0f}/s per stream",
        "| sessions | cadence | web CPU/update (ours / plain / ratio) | CPU/token | first token p50 / p99 "
        "(ours; plain) | lag p99 (ours; plain) | tokens/s p50 (p1) | page load p50 / p99 (ours; plain) | errors |",
        "|---:|---:|---|---:|---|---|---|---|---:|",
    ]
    for row in r["runs"]:
        o, p, pages = row["ours"], row["plain"], row["page_load"]
        lines.append(
            f"| {row['sessions']} | {row['cadence_s'] * 1000:.0f} ms | {o['cpu_ms_per_update']:.2f} / "
            f"{p['cpu_ms_per_update']:.2f} ms / {row['cpu_per_update_ratio']:.2f}× | {o['cpu_ms_per_token']:.3f} ms | "
            f"{o['first_token_s_p50']:.2f} / {o['first_token_s_p99']:.2f} s; {p['first_token_s_p50']:.2f} / "
            f"{p['first_token_s_p99']:.2f} s | {o['lag_ms_p99']:.0f}; {p['lag_ms_p99']:.0f} ms | "
            f"{o['tokens_per_s_p50']:.1f} ({o['tokens_per_s_p1']:.1f}) | {pages['ours']['p50_s']:.2f} / "
            f"{pages['ours']['p99_s']:.2f} s; {pages['plain']['p50_s']:.2f} / {pages['plain']['p99_s']:.2f} s | "
            f"{o['errors'] + pages['ours']['errors']} |"
        )
    lines += ["", "First token's path, per hop p50 / p99 ms (ours):", "",
              "| sessions | " + " | ".join(name for name, _, _ in HOPS) + " |",
              "|---:|" + "---:|" * len(HOPS)]  # fmt: skip
    for row in r["runs"]:
        hops = row["ours"]["hops"]
        lines.append(f"| {row['sessions']} | " + " | ".join(
            f"{hops[name]['p50_ms']:.0f} / {hops[name]['p99_ms']:.0f}" for name, _, _ in HOPS) + " |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sessions", default="64,256,512")
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--interval-s", type=float, default=0.05)
    args = parser.parse_args()
    result = measure(args)
    print(json.dumps(result) if args.json else table(result))


if __name__ == "__main__":
    main()
