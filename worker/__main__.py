"""`python -m worker`: a Celery worker for the configured models (`RIO_WORKER_MODELS` picks a subset)."""

from __future__ import annotations

import logging
import os
import sys

from worker.celery_app import app
from worker.jobs import queue_name
from worker.models import available, entry
from worker.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    chosen = [m for m in os.environ.get("RIO_WORKER_MODELS", "").split(",") if m]
    models = [entry(m) for m in chosen] if chosen else available(settings)
    os.environ["RIO_WORKER_MODELS"] = ",".join(m.key for m in models)  # read by the preload hook
    local = any(m.backend == "local" for m in models)
    # Local engines compute: one job per process. SGLang jobs wait on the network: many per process.
    pool = "prefork" if local else "threads"
    if pool == "threads":
        # many streaming threads: hand the GIL over sooner, so a new job is not queued behind them
        sys.setswitchinterval(0.0005)
    concurrency = os.environ.get("RIO_WORKER_CONCURRENCY", "1" if local else "64")
    app.worker_main(
        [
            "worker",
            f"--queues={','.join(queue_name(m.key) for m in models)}",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


if __name__ == "__main__":
    main()
