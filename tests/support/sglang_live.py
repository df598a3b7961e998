"""Live SGLang 0.5.23 servers on loopback for the tests: `python -m sglang.launch_server --config
sglang_config/<model>.cpu.yaml` from `.venv-sglang`, exactly as production starts its servers, with the
SwiReasoning plugin (`SGLANG_PLUGINS=rio_swireasoning`) and the CPU stand-ins of
tests/support/sglang_site first on PYTHONPATH (sgl_kernel in torch, torchvision op schemas, two Triton
launches in torch, a test-only plugin fault). Started once per test run, in the background, as soon as
the collected tests need them (tests/conftest.py); each test waits only for the first answer.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from worker.ops.devstack import ROOT, free_port
from worker.ops.tiny_model import build_apart

SGLANG_PYTHON = ROOT / ".venv-sglang" / "bin" / "python"
SITE = ROOT / "tests" / "support" / "sglang_site"
EXTRA = ROOT / ".venv-sglang-live"  # torchvision 0.28.0, installed apart by the Makefile (not in .venv-sglang)
LOGS = ROOT / "test-artifacts"
START_TIMEOUT_S = 300.0  # ~30 s on an idle 2-core machine; a cold bytecode cache or a busy CI takes longer


@dataclass(frozen=True)
class LiveModel:
    key: str  # the registry key, served as `served-model-name`
    config: str  # the launch config in sglang_config/
    model_dir: str  # where the config's model-path points, relative to the repository


RIO = LiveModel("rio-3.5-open-397b", "sglang_config/rio-3.5-open-397b.cpu.yaml", "var/models/tiny-random")
QWEN = LiveModel("qwen3.5-397b-a17b", "sglang_config/qwen3.5-397b-a17b.cpu.yaml", "var/models/tiny-qwen3")


def ensure_model(model: LiveModel) -> None:
    build_apart(ROOT / model.model_dir, qwen3=model is QWEN)  # this runs in a background thread


def plugin_dist() -> Path:
    """The project's `sglang.srt.plugins` entry point, as `pip install .` registers it, for the servers'
    PYTHONPATH only (the shared `.venv-sglang` does not install this project)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    points = project["entry-points"]["sglang.srt.plugins"]
    dist = ROOT / "var" / "sglang-live-dist"
    info = dist / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    lines = "".join(f"{name} = {target}\n" for name, target in points.items())
    (info / "entry_points.txt").write_text(f"[sglang.srt.plugins]\n{lines}")
    return dist


def server_env(plugin: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SGLANG_", "CUDA_"))}
    path = os.pathsep.join(str(p) for p in (SITE, EXTRA, plugin_dist(), ROOT))
    env = {**env, "SGLANG_USE_CPU_ENGINE": "1", "PYTHONPATH": path}
    return {**env, "SGLANG_PLUGINS": "rio_swireasoning"} if plugin else env


@dataclass
class LiveServer:
    model: LiveModel
    plugin: bool = True  # False: the same server without rio_swireasoning (bench.sglang_live's baseline)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return LOGS / f"sglang-{self.model.key}{'' if self.plugin else '-no-plugin'}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        ensure_model(self.model)
        LOGS.mkdir(exist_ok=True)
        log = open(self.log, "wb")  # noqa: SIM115
        cmd = [str(SGLANG_PYTHON), "-m", "sglang.launch_server", "--config", self.model.config,
               "--port", str(self.port)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=server_env(self.plugin), stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/model_info", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait(self, timeout_s: float = START_TIMEOUT_S) -> str:
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"live SGLang server {self.model.key} did not start:\n{tail}")
            time.sleep(0.5)
        return self.url

    def kill(self) -> None:
        """The whole process group: SGLang's scheduler and detokenizer children too."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(10)


class LiveServers:
    """Both servers, started in a background thread (model builds first); `url(key)` waits for one."""

    def __init__(self) -> None:
        self.servers = {m.key: LiveServer(m) for m in (RIO, QWEN)}
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._start, daemon=True, name="sglang-live")

    def _start(self) -> None:
        try:
            for server in self.servers.values():
                server.start()
        finally:
            self.started.set()

    def begin(self) -> LiveServers:
        if not self.thread.is_alive() and not self.started.is_set():
            self.thread.start()
        return self

    def url(self, key: str) -> str:
        self.begin()
        self.started.wait()
        return self.servers[key].wait()

    def stop(self) -> None:
        if self.thread.ident is None:  # never begun
            return
        self.started.wait(60)
        for server in self.servers.values():
            server.kill()
