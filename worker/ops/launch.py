"""`python -m worker.ops.launch`: everything on one machine (the README's first command ends here).

Builds the tiny model if missing, then runs the Procfile's processes with honcho: the embedded
Redis when `REDIS_URL` is unset, a Celery worker and the web. Ctrl-C stops all of them.
"""

from __future__ import annotations

import logging
import os
import sys

from worker.ops.settings import Settings
from worker.ops.tiny_model import build


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if not (settings.tiny_model_path / "TINY_RANDOM").exists():
        logging.info("building the tiny model at %s", settings.tiny_model_path)
        build(settings.tiny_model_path)
    processes = ["worker", "web"]
    if not (os.environ.get("REDIS_URL") or os.environ.get("RIO_REDIS_URL")):
        processes.insert(0, "redis")
        os.environ["REDIS_URL"] = settings.redis_url
        os.environ["RIO_EMBEDDED_REDIS"] = "1"  # the page says where share links are kept
        logging.info("REDIS_URL unset: starting the embedded Redis at %s", settings.redis_url)
    bin_dir = os.path.dirname(sys.executable)  # the Procfile's `python` is this environment's
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    honcho = os.path.join(bin_dir, "honcho")
    os.execv(honcho, [honcho, "start", "-f", "Procfile", *processes])


if __name__ == "__main__":
    main()
