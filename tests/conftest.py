"""Real parts for the tests: a Redis server, a Celery worker process, the Gradio web process; and live
SGLang servers on CPU (tests/support/sglang_live.py), started in the background as soon as collection
shows a test needs them, with their own Redis, SGLang worker and web (`live_web`)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.sglang_live import LiveServers
from tests.support.sse_tee import SseTee
from worker.ops import redis_server
from worker.ops.devstack import ROOT, answers, free_port, start_web, start_worker, stop, wait_for
from worker.ops.settings import Settings
from worker.ops.tiny_model import build_apart

ARTIFACTS = ROOT / "test-artifacts"
LIVE_SERVERS = pytest.StashKey[LiveServers]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the live SGLang servers now (~30 s, in parallel with the rest of the setup) if a test needs them."""
    if any("live_sglang" in getattr(item, "fixturenames", ()) for item in session.items):
        session.config.stash[LIVE_SERVERS] = LiveServers().begin()


def pytest_sessionfinish(session: pytest.Session) -> None:
    servers = session.config.stash.get(LIVE_SERVERS, None)
    if servers is not None:
        servers.stop()  # even when no test got as far as asking for them


@pytest.fixture(scope="session")
def live_sglang(request) -> LiveServers:
    return request.config.stash.setdefault(LIVE_SERVERS, LiveServers()).begin()


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """The one tiny-random of the run, the live Rio server's too (built once, whoever asks first)."""
    return build_apart(ROOT / "var" / "models" / "tiny-random")


SGLANG_PYTHON = ROOT / ".venv-sglang" / "bin" / "python"


@pytest.fixture(scope="session")
def contract_server() -> Iterator[str]:
    """The SGLang wire-format stand-in, running on the real sglang package in `.venv-sglang`."""
    assert SGLANG_PYTHON.exists(), "run `make test`: it prepares .venv-sglang"
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "contract-server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([str(SGLANG_PYTHON), "tests/support/sglang_contract_server.py", str(port)], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: answers(url + "/health"), 300, "contract server", proc)  # slow imports on a busy CI box
    yield url
    stop(proc)


@pytest.fixture(scope="session")
def settings(tmp_path_factory, tiny_model, contract_server) -> Settings:
    var = tmp_path_factory.mktemp("var")
    return Settings(
        rio_sglang_url=contract_server,
        qwen_sglang_url="http://127.0.0.1:9",  # nothing listens there: a model that is down
        sglang_api_key="test-key",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        var_dir=var,
        hop_log=var / "hops.jsonl",  # bench.web's view of each chat's first token, checked in test_bench_web
        tiny_model_path=tiny_model,
        web_host="127.0.0.1",
        web_port=free_port(),
        paced_model=True,
        sglang_read_timeout_s=2.0,
        trusted_proxies="127.0.0.1",  # tests act as many clients through X-Forwarded-For
        requests_per_minute=100_000,
        jobs_per_client=1_000,
        image_mb_per_hour=100_000,
        shares_per_hour=100_000,
        web_metrics_port=free_port(),
        worker_metrics_port=free_port(),
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
def sglang_worker(settings, redis_proc) -> Iterator[subprocess.Popen]:
    proc = start_worker(settings, "sglang-worker", RIO_WORKER_MODELS="rio-3.5-open-397b,qwen3.5-397b-a17b,paced",
                        RIO_WORKER_METRICS_PORT=str(free_port()))  # fmt: skip
    yield proc
    stop(proc)


@pytest.fixture(scope="session")
def web(settings, redis_proc, worker_proc, sglang_worker) -> Iterator[str]:
    proc, url = start_web(settings)
    yield url
    stop(proc)


@pytest.fixture(scope="session")
def rio_tee(live_sglang) -> Iterator[SseTee]:
    """The live Rio server behind a relay that keeps what it sent for each request (tests/support/sse_tee.py)."""
    tee = SseTee(live_sglang.url("rio-3.5-open-397b"))
    yield tee
    tee.close()


@pytest.fixture(scope="session")
def live_settings(tmp_path_factory, settings, live_sglang, rio_tee) -> Settings:
    """The stack against the live servers: Rio's URL lists a dead replica first (the job must move on), then
    the relay in front of the live Rio server."""
    return settings.model_copy(update={
        "rio_sglang_url": f"http://127.0.0.1:9,{rio_tee.url}",
        "qwen_sglang_url": live_sglang.url("qwen3.5-397b-a17b"),
        "sglang_read_timeout_s": 300.0,  # a first image prefill on a busy shared 2-core CI machine
        "redis_url": f"redis://127.0.0.1:{free_port()}/0",
        "var_dir": tmp_path_factory.mktemp("live-var"),
        "web_port": free_port(),
        "web_metrics_port": free_port(),
        "worker_metrics_port": free_port(),
    })  # fmt: skip


@pytest.fixture(scope="session")
def live_web(live_settings) -> Iterator[str]:
    redis_proc = redis_server.start(live_settings, log_path=live_settings.var_dir / "redis.log")
    worker = start_worker(live_settings, "sglang-live-worker", RIO_WORKER_MODELS="rio-3.5-open-397b,qwen3.5-397b-a17b")
    web, url = start_web(live_settings)
    yield url
    for proc in (web, worker, redis_proc):
        stop(proc)
