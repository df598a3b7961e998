"""The Hugging Face Space's entry point (the README front matter's `app_file`): `python app.py`.

A Space installs requirements.txt and runs this file from the repository root, without installing the
package. With `REDIS_URL` set it runs the web only; with nothing set it also runs the embedded Redis and
a CPU worker (worker/ops/space.py says how, and where data lives).
"""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path

from worker.ops import space

ROOT = Path(__file__).resolve().parent


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    alone = space.web_only(os.environ)
    env = space.space_env(os.environ, ROOT)
    os.environ.update(env)  # the web reads its settings from the environment, like the children
    space.stop_on_signals()
    stack = None if alone else space.start_stack(env, ROOT)
    if stack is not None:
        atexit.register(stack.stop)
    logging.info("%s; data under %s", "web only (REDIS_URL set)" if alone else "self-contained", env["RIO_VAR_DIR"])
    from demo.__main__ import main as web  # after the environment is final: settings are read once

    try:
        web()
    finally:
        if stack is not None:
            stack.stop()


if __name__ == "__main__":
    main()
