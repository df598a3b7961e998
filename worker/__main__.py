"""`python -m worker`: a Celery worker for the configured models (`RIO_WORKER_MODELS` picks a subset)."""

from __future__ import annotations

import logging
import os

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
    # Local engines compute: one job at a time, in the consumer's own process (no pool IPC on the
    # path of every job); more than one means a prefork pool, one model per child.
    # SGLang jobs wait on the network: many threads per process (run one process per core).
    concurrency = os.environ.get("RIO_WORKER_CONCURRENCY", "1" if local else "64")
    pool = ("solo" if concurrency == "1" else "prefork") if local else "threads"
    if pool == "solo":
        from worker.tasks import preload

        preload()
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
