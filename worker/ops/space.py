"""`python app.py`, the Hugging Face Space way: the web alone, or the whole stack in one container.

Web only (`REDIS_URL` set, e.g. as a Space secret): the process runs the web and nothing else, and
never imports torch or transformers (workers and SGLang run next to the GPUs).
Self-contained (nothing set, e.g. right after "Duplicate this Space"): the embedded Redis and one CPU
worker (`tiny-random`, built if missing) run as children of this process, are restarted when they
die, and stop with it: on SIGTERM/SIGINT, at exit, and (PR_SET_PDEATHSIG) if it is killed outright.
Data lives under `/data/rio` when the Space has persistent storage, else under the repository's `var/`.

This module prepares the environment and the children; app.py then runs the web in this process.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from worker.ops import redis_server
from worker.ops.children import die_with_parent
from worker.ops.devstack import free_port
from worker.ops.settings import Settings

log = logging.getLogger("space")
SPACE_STORAGE = Path("/data")
RESTART_DELAY_S = 1.0


def data_dir(root: Path, storage: Path = SPACE_STORAGE) -> Path:
    """Persistent storage when the Space has it (mounted, writable), else the repository's var/."""
    if storage.is_dir() and os.access(storage, os.W_OK):
        return storage / "rio"
    return root / "var"


def web_only(env: Mapping[str, str]) -> bool:
    return bool(env.get("REDIS_URL") or env.get("RIO_REDIS_URL"))


def space_env(env: Mapping[str, str], root: Path, storage: Path = SPACE_STORAGE) -> dict[str, str]:
    """The environment the web and the children read: data dir, the Space's port, the embedded Redis."""
    out = dict(env)
    var = Path(env.get("RIO_VAR_DIR") or data_dir(root, storage))
    out["RIO_VAR_DIR"] = str(var)
    out.setdefault("RIO_TINY_MODEL_PATH", str(var / "models" / "tiny-random"))
    if env.get("GRADIO_SERVER_PORT") and not env.get("RIO_WEB_PORT"):
        out["RIO_WEB_PORT"] = env["GRADIO_SERVER_PORT"]  # the port the Space routes to (7860 unless app_port)
    if not web_only(env):
        out["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # loopback only, inside the container
        out["RIO_EMBEDDED_REDIS"] = "1"
    out.setdefault("PYTHONPATH", str(root))  # children import demo/ and worker/ from the checkout
    return out


@dataclass
class Child:
    name: str
    args: list[str]
    proc: subprocess.Popen | None = None


@dataclass
class Stack:
    """Children of this process, restarted when they exit on their own, stopped with it."""

    env: dict[str, str]
    root: Path
    children: list[Child] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def spawn(self, child: Child) -> None:
        child.proc = subprocess.Popen([sys.executable, *child.args], env=self.env, cwd=self.root,
                                      preexec_fn=die_with_parent)  # fmt: skip
        log.info("started %s (pid %d)", child.name, child.proc.pid)

    def add(self, name: str, *args: str) -> None:
        child = Child(name, list(args))
        self.children.append(child)
        self.spawn(child)

    def watch(self) -> None:
        """Restart any child that exits while we are not stopping (a thread)."""
        while not self.stopping.wait(RESTART_DELAY_S):
            for child in self.children:
                if child.proc is not None and child.proc.poll() is not None and not self.stopping.is_set():
                    log.warning("%s exited with %s; restarting it", child.name, child.proc.returncode)
                    self.spawn(child)

    def stop(self) -> None:
        """Workers first, Redis last (it saves its append-only file on SIGTERM)."""
        self.stopping.set()
        for child in reversed(list(self.children)):
            if child.proc is not None and child.proc.poll() is None:
                child.proc.terminate()
                try:
                    child.proc.wait(15)
                except subprocess.TimeoutExpired:
                    child.proc.kill()
                    child.proc.wait()
        log.info("stopped %s", ", ".join(c.name for c in self.children) or "nothing")


def build_tiny_model(settings: Settings, env: dict[str, str], root: Path) -> None:
    """In a child process, so that this one (the web) never imports torch."""
    if (settings.tiny_model_path / "TINY_RANDOM").exists():
        return
    log.info("building the tiny model at %s", settings.tiny_model_path)
    subprocess.run([sys.executable, "-m", "worker.ops.tiny_model", str(settings.tiny_model_path)], env=env, cwd=root,
                   check=True, preexec_fn=die_with_parent)  # fmt: skip


def start_worker(stack: Stack, settings: Settings) -> None:
    """The tiny model (built first if missing), then the worker, then supervision (a thread: the web
    starts meanwhile, and jobs sent before the worker is up wait in the queue)."""
    build_tiny_model(settings, stack.env, stack.root)
    if not stack.stopping.is_set():
        stack.add("worker", "-m", "worker")
        stack.watch()


def start_stack(env: dict[str, str], root: Path) -> Stack:
    """Self-contained mode: the embedded Redis and one CPU worker, supervised."""
    settings = Settings.from_env(env)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(env, root)
    stack.add("redis", "-m", "worker.ops.redis_server")
    redis_server.wait_ready(settings.redis_url, timeout_s=30)
    threading.Thread(target=start_worker, args=(stack, settings), name="space-supervisor", daemon=True).start()
    return stack


def stop_on_signals() -> None:
    """SIGTERM (the container stopping) ends the web the way Ctrl-C does: Gradio closes its server,
    the launch returns and the caller stops the children."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
