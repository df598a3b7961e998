"""Processes of one machine for tests and benchmarks: a Redis server, Celery workers, the web."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from worker.ops.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(ready: Callable[[], bool], timeout_s: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}")
        if ready():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout_s} s")


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    """This machine's environment without our variables, then the settings' own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RIO_", "REDIS_", "QWEN_", "SGLANG_"))}
    env.update(
        REDIS_URL=settings.redis_url,
        RIO_VAR_DIR=str(settings.var_dir),
        RIO_TINY_MODEL_PATH=str(settings.tiny_model_path),
        RIO_WEB_HOST=settings.web_host,
        RIO_WEB_PORT=str(settings.web_port),
        RIO_PACED_MODEL="1" if settings.paced_model else "",
        RIO_SGLANG_URL=settings.rio_sglang_url or "",
        QWEN_SGLANG_URL=settings.qwen_sglang_url or "",
        SGLANG_API_KEY=settings.sglang_api_key or "",
        RIO_SGLANG_READ_TIMEOUT_S=str(settings.sglang_read_timeout_s),
        RIO_WEB_METRICS_PORT=str(settings.web_metrics_port),
        RIO_WORKER_METRICS_PORT=str(settings.worker_metrics_port),
        RIO_TRUSTED_PROXIES=settings.trusted_proxies,
        RIO_REQUESTS_PER_MINUTE=str(settings.requests_per_minute),
        RIO_JOBS_PER_CLIENT=str(settings.jobs_per_client),
        RIO_MAX_QUEUE=str(settings.max_queue),
        RIO_IMAGE_MB_PER_HOUR=str(settings.image_mb_per_hour),
        RIO_SHARES_PER_HOUR=str(settings.shares_per_hour),
        RIO_STORE_BUDGET_MB=str(settings.store_budget_mb),
        RIO_HOP_LOG=str(settings.hop_log or ""),
        PYTHONPATH=str(ROOT),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    env.update(extra)
    return env


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    out = open(log, "ab")  # noqa: SIM115  (the child keeps it)
    return subprocess.Popen([sys.executable, *args], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def answers(url: str) -> bool:
    """True once `url` answers HTTP 200."""
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


STARTUP_S = 240  # seconds a process may take to come up: imports crawl on a shared, loaded CI box


def start_worker(settings: Settings, name: str = "worker", **extra: str) -> subprocess.Popen:
    """A `python -m worker` process; returns once it consumes and its models are loaded."""
    log = settings.var_dir / f"{name}.log"
    log.write_bytes(b"")
    proc = spawn(["-m", "worker"], env_for(settings, **extra), log)
    local = "tiny-random" in extra.get("RIO_WORKER_MODELS", "tiny-random")

    def up() -> bool:
        return b"ready." in log.read_bytes() and (not local or b"loaded" in log.read_bytes())

    wait_for(up, STARTUP_S, name, proc)
    return proc


def start_web(settings: Settings, **extra: str) -> tuple[subprocess.Popen, str]:
    url = f"http://127.0.0.1:{settings.web_port}/"
    proc = spawn(["-m", "demo"], env_for(settings, **extra), settings.var_dir / "web.log")
    wait_for(lambda: answers(url), STARTUP_S, "web", proc)
    return proc, url
