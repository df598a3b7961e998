"""Real parts for the tests: a Redis server, a Celery worker process, the Gradio web process."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from worker import redis_server
from worker.devstack import ROOT, free_port, start_web, start_worker, stop
from worker.settings import Settings
from worker.tiny_model import build

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    cached = ROOT / "var" / "models" / "tiny-random"
    if (cached / "TINY_RANDOM").exists():
        return cached
    return build(tmp_path_factory.mktemp("models") / "tiny-random")


@pytest.fixture(scope="session")
def settings(tmp_path_factory, tiny_model) -> Settings:
    return Settings(
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        var_dir=tmp_path_factory.mktemp("var"),
        tiny_model_path=tiny_model,
        web_host="127.0.0.1",
        web_port=free_port(),
        paced_model=True,
    )


@pytest.fixture(scope="session")
def redis_proc(settings) -> Iterator[subprocess.Popen]:
    proc = redis_server.start(settings, log_path=settings.var_dir / "redis.log")
    yield proc
    stop(proc)


@pytest.fixture()
def r(settings, redis_proc) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url)


@pytest.fixture(scope="session")
def worker_proc(settings, redis_proc) -> Iterator[subprocess.Popen]:
    proc = start_worker(settings, RIO_WORKER_MODELS="tiny-random")
    yield proc
    stop(proc)


@pytest.fixture(scope="session")
def web(settings, redis_proc, worker_proc) -> Iterator[str]:
    proc, url = start_web(settings)
    yield url
    stop(proc)
