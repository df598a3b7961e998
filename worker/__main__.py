"""`python -m worker`: a Celery worker for the configured models (`RIO_WORKER_MODELS` picks a subset),
kept alive by a small supervisor: Celery's Redis transport can die on a broker connection loss
(kombu restores unacknowledged messages through a connection that is gone), and a worker that
crashed or was killed must come back by itself."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

from worker.models import available, entry, queue_name
from worker.ops.children import die_with_parent
from worker.ops.settings import Settings

log = logging.getLogger("worker.supervisor")
RESTART_DELAY_S = 1.0


def supervise() -> None:
    """Run the worker as a child; restart it whenever it exits on its own, stop it when told to."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    child: subprocess.Popen | None = None
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while not stopping:
        child = subprocess.Popen([sys.executable, "-m", "worker", "--child"], preexec_fn=die_with_parent)
        code = child.wait()
        if not stopping:
            log.warning("worker exited with %s; restarting in %.0f s", code, RESTART_DELAY_S)
            time.sleep(RESTART_DELAY_S)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    chosen = [m for m in os.environ.get("RIO_WORKER_MODELS", "").split(",") if m]
    models = [entry(m) for m in chosen] if chosen else available(settings)
    os.environ["RIO_WORKER_MODELS"] = ",".join(m.key for m in models)  # read by the preload hook
    local = any(m.backend == "local" for m in models)
    # A local engine decodes its concurrent jobs together in one engine thread (continuous
    # batching), so its jobs are threads of one process that holds the model, as many as the
    # engine has rows; SGLang jobs wait on the network: many threads per process.
    rows = str(settings.local_batch)
    from worker.queue.tasks import DEFAULT_REMOTE_CONCURRENCY, app, preload  # the child alone builds the app

    concurrency = os.environ.get("RIO_WORKER_CONCURRENCY", rows if local else DEFAULT_REMOTE_CONCURRENCY)
    os.environ["RIO_WORKER_CONCURRENCY"] = concurrency  # its Redis pool holds a connection per thread
    pool = "solo" if concurrency == "1" else "threads"

    if local:
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
    main() if "--child" in sys.argv else supervise()
