"""Real parts for the tests: a Redis server, a Celery worker process, the Gradio web process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from worker import redis_server
from worker.settings import Settings
from worker.tiny_model import build

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, timeout_s: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}")
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout_s} s")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    cached = ROOT / "var" / "models" / "tiny-random"
    if (cached / "TINY_RANDOM").exists():
        return cached
    return build(tmp_path_factory.mktemp("models") / "tiny-random")


@pytest.fixture(scope="session")
def settings(tmp_path_factory, tiny_model) -> Settings:
    var = tmp_path_factory.mktemp("var")
    return Settings(
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        var_dir=var,
        tiny_model_path=tiny_model,
        web_host="127.0.0.1",
        web_port=free_port(),
    )


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RIO_", "REDIS_", "QWEN_", "SGLANG_"))}
    env.update(
        REDIS_URL=settings.redis_url,
        RIO_VAR_DIR=str(settings.var_dir),
        RIO_TINY_MODEL_PATH=str(settings.tiny_model_path),
        RIO_WEB_HOST=settings.web_host,
        RIO_WEB_PORT=str(settings.web_port),
        PYTHONPATH=str(ROOT),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def redis_proc(settings) -> Iterator[subprocess.Popen]:
    proc = redis_server.start(settings, log_path=settings.var_dir / "redis.log")
    yield proc
    proc.terminate()
    proc.wait(10)


@pytest.fixture()
def r(settings, redis_proc) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url)


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    out = open(log, "ab")  # noqa: SIM115
    return subprocess.Popen([sys.executable, *args], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_worker(settings: Settings, name: str = "worker", **extra: str) -> subprocess.Popen:
    log = settings.var_dir / f"{name}.log"
    proc = spawn(["-m", "worker"], settings_env(settings, **extra), log)
    wait_for(lambda: b"ready." in log.read_bytes() and b"loaded" in log.read_bytes(), 90, name, proc)
    return proc


@pytest.fixture(scope="session")
def worker_proc(settings, redis_proc) -> Iterator[subprocess.Popen]:
    proc = start_worker(settings)
    yield proc
    stop(proc)


@pytest.fixture(scope="session")
def web(settings, redis_proc, worker_proc) -> Iterator[str]:
    url = f"http://127.0.0.1:{settings.web_port}/"
    proc = spawn(["-m", "demo"], settings_env(settings), settings.var_dir / "web.log")

    def up() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 60, "web", proc)
    yield url
    stop(proc)
