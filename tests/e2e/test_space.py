"""The repository run the way a Hugging Face Space runs it: a fresh virtual environment with
requirements.txt, a `git archive` copy of HEAD, `python app.py` there with the Space's variables
(SYSTEM=spaces, SPACE_ID, SPACE_HOST, its port, and the OAUTH_* a Space with `hf_oauth: true` gets).

Self-contained (nothing else set): the app starts Redis and a worker itself; a chat with an image
answers, a share link carries the Space host, visitors behind the proxy are limited per forwarded
address and a signed-in user per user; a browser's first visit, each deep link and a reload show no
error; SIGTERM stops every process the app started. Web only (REDIS_URL set): the same chat through a
worker the test runs, and torch and transformers never imported by the web.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from PIL import Image

from tests.conftest import ARTIFACTS
from tests.support.helpers import chat, last_answer, value
from worker.ops.devstack import ROOT, answers, free_port, wait_for

SPACE_VENV = ROOT / ".venv-space"
SPACE_HOST = "prefeitura-rio-rio-demo.hf.space"
OAUTH_SECRET = "space-test-oauth-secret"
SHOTS = ARTIFACTS / "screenshots"
QUICK = {"reasoning": "off", "max_tokens": 4}


@pytest.fixture(scope="session")
def space_python() -> Path:
    """A venv holding exactly requirements.txt, installed fresh whenever that file or the pins change
    (kept between runs like .venv-sglang: pip's own cache makes a reinstall quick)."""
    digest = hashlib.sha1((ROOT / "requirements.txt").read_bytes() + (ROOT / "constraints.txt").read_bytes())
    stamp = SPACE_VENV / f".installed-{digest.hexdigest()[:12]}"
    if not stamp.exists():
        shutil.rmtree(SPACE_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(SPACE_VENV)], check=True)
        subprocess.run([str(SPACE_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "-r", "requirements.txt",
                        "-c", "constraints.txt"], cwd=ROOT, check=True, timeout=1200)  # fmt: skip
        stamp.touch()
    return SPACE_VENV / "bin" / "python"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """HEAD as the Space's git clone has it: tracked files only, no var/, no tiny model, no venv."""
    out = tmp_path_factory.mktemp("space-repo")
    tar = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=tar, check=True)
    return out


def space_env(port: int, **extra: str) -> dict[str, str]:
    """This machine's environment without ours, plus what a Space sets."""
    ours = ("RIO_", "REDIS_", "QWEN_", "SGLANG_", "PYTHON", "VIRTUAL_ENV", "GRADIO_", "OAUTH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(
        SYSTEM="spaces",
        SPACE_ID="prefeitura-rio/rio-demo",
        SPACE_HOST=SPACE_HOST,
        GRADIO_SERVER_PORT=str(port),
        OAUTH_CLIENT_ID="space-test-client",
        OAUTH_CLIENT_SECRET=OAUTH_SECRET,
        OAUTH_SCOPES="openid profile",
        OPENID_PROVIDER_URL="https://huggingface.co",
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        RIO_WEB_METRICS_PORT=str(free_port()),  # another test's processes may hold the defaults
        RIO_WORKER_METRICS_PORT=str(free_port()),
    )
    env.update(extra)
    return env


def run_app(python: Path, checkout: Path, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    out = open(log, "wb")  # noqa: SIM115  (the child keeps it)
    proc = subprocess.Popen([str(python), "app.py"], cwd=checkout, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{env['GRADIO_SERVER_PORT']}/"
    wait_for(lambda: answers(url), 240, f"app.py (see {log})", proc)
    return proc, url


def processes_in(folder: Path) -> list[int]:
    """Processes whose working directory is `folder`: the app and everything it started."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")) == folder:
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def session_cookie(username: str) -> str:
    """A signed-in visitor's `session` cookie, as Gradio's OAuth callback leaves it: Starlette's
    SessionMiddleware signs base64 JSON with itsdangerous, keyed by the Space's OAuth secret."""
    import itsdangerous

    info = {"access_token": "t", "expires_at": int(time.time()) + 3600,
            "userinfo": {"preferred_username": username, "name": username}}  # fmt: skip
    signer = itsdangerous.TimestampSigner(hashlib.sha256((OAUTH_SECRET + "-v4").encode()).hexdigest())
    return signer.sign(base64.b64encode(json.dumps({"oauth_info": info}).encode())).decode()


def visitor(url: str, address: str, user: str | None = None) -> Client:
    headers = {"X-Forwarded-For": forwarded(address)}
    if user:
        headers["Cookie"] = f"session={session_cookie(user)}"
    return Client(url, verbose=False, headers=headers)


def forwarded(address: str, forged: str | None = None) -> str:
    """The header an appending proxy (the Hub's) hands the app: whatever the client wrote, the visitor's
    address the edge saw, then the Space's own internal hop."""
    return ", ".join([*([forged] if forged else []), address, "10.16.3.80"])


def footer(client: Client, text: str = "Hi", files: list[str] = ()) -> str:  # type: ignore[assignment]
    return last_answer(chat(client, text, files, **QUICK).result()[0]).footer


def chat_with_image_and_share(url: str, tmp_path: Path) -> str:
    img = tmp_path / "blue.png"
    Image.new("RGB", (48, 32), (20, 40, 220)).save(img)
    client = visitor(url, "203.0.113.1")
    assert re.search(r"tok/s · \d+ tokens?", footer(client, "What colour is this?", [str(img)]))
    link = value(client.predict(api_name="/share_chat"))
    assert link.startswith(f"https://{SPACE_HOST}/?share="), link
    return link.rsplit("=", 1)[1]


@pytest.fixture(scope="module")
def space_app(space_python, checkout) -> Iterator[tuple[subprocess.Popen, str]]:
    env = space_env(free_port(), RIO_REQUESTS_PER_MINUTE="3", RIO_USER_REQUESTS_PER_MINUTE="5")
    ARTIFACTS.mkdir(exist_ok=True)
    proc, url = run_app(space_python, checkout, env, ARTIFACTS / "space-app.log")
    yield proc, url
    if proc.poll() is None:
        proc.kill()


def test_self_contained_space_answers_shares_and_limits_by_visitor(space_app, checkout, tmp_path):
    _, url = space_app
    config = httpx.get(url + "config", timeout=10).text
    assert "share links are lost when it restarts" in config and "Sign in with Hugging Face" in config
    chat_with_image_and_share(url, tmp_path)  # sent while the tiny model may still be building: it waits
    assert len(processes_in(checkout)) >= 3, "the app, its Redis and its worker"
    first, second = visitor(url, "203.0.113.1"), visitor(url, "198.51.100.7")
    for _ in range(3):  # the per-minute window may roll over between two requests: then look again
        minute = time.time() // 60
        refusal = until_refused(first, 8, forging="203.0.113.1")  # a new forged entry each time: one bucket
        other_passes = "tok/s" in footer(second)
        if time.time() // 60 == minute:
            break
    assert "the limit is 3 per minute" in refusal, "the anonymous quota"
    assert other_passes, "another address behind the same proxy has its own limit"
    ana = visitor(url, "203.0.113.1", user="ana")  # signed in, from that refused address
    assert "the limit is 5 per minute" in until_refused(ana, 12), "limited as a user, with the user quota"


def until_refused(client: Client, most: int, forging: str | None = None) -> str:
    """Requests until the first refusal, which names the quota that applied; `forging`: the visitor at that
    address writes a new X-Forwarded-For of its own before each request."""
    for i in range(most):
        if forging:
            client.headers["X-Forwarded-For"] = forwarded(forging, forged=f"192.0.2.{i + 1}")
        text = footer(client)
        if "Too many requests" in text:
            return text
        assert "tok/s" in text, text
    raise AssertionError(f"not refused after {most} requests")


def outside_world(route) -> None:
    """This machine has no internet: answer, as the real hosts would, what a page on a Space fetches
    from elsewhere (Gradio's Space header asks hf.co about the Space; the theme loads Google fonts)."""
    url = route.request.url
    if url.startswith("https://huggingface.co/api/spaces/"):
        route.fulfill(json={"id": "prefeitura-rio/rio-demo", "author": "prefeitura-rio", "likes": 0})
    else:
        route.fulfill(status=200, body="", content_type="text/css" if "fonts" in url else "image/png")


def test_first_visit_deep_links_and_reload_show_no_error(space_app):
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, FLAGS

    _, url = space_app
    client = visitor(url, "192.0.2.50")
    chat(client, "Share me", **QUICK).result()
    share_id = value(client.predict(api_name="/share_chat")).rsplit("=", 1)[1]
    links = ["", "?model=tiny-random", "?compare=tiny-random,tiny-random", "?tab=chat", "?tab=compare",
             "?tab=battle", "?tab=leaderboard", f"?share={share_id}", "reload"]  # fmt: skip
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1300, "height": 1000}, locale="en-US")
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), outside_world)
        for i, link in enumerate(links):
            page, errors, inflight = context.new_page(), [], set()
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
            page.on("request", lambda r, inflight=inflight: inflight.add(r) if "heartbeat" not in r.url else None)
            page.on("requestfinished", lambda r, inflight=inflight: inflight.discard(r))
            page.on("requestfailed", lambda r, inflight=inflight: inflight.discard(r))
            page.goto(url + ("" if link == "reload" else link), wait_until="load")
            settle(page, inflight)
            if link == "reload":
                page.reload(wait_until="load")
                settle(page, inflight)
            page.screenshot(path=str(SHOTS / f"space-{i}-{re.sub(r'[^a-z]+', '-', link)[:20]}.png"), full_page=True)
            assert page.locator(".toast-body.error, .error").count() == 0, (link, page.inner_text("body")[:2000])
            assert errors == [], (link, errors)
            if link == "?tab=leaderboard":
                assert "No votes yet" in page.inner_text("#leaderboard-note")
            page.close()
        browser.close()


def settle(page, inflight: set, quiet_s: float = 0.7, timeout_s: float = 60) -> None:
    """Wait until the page's load events are done: no request in flight for `quiet_s` (Gradio's
    heartbeat stream stays open for the page's life and is not counted). Leaving a page earlier
    aborts its requests, which the page logs as errors of its own. Once in a full CI run a session's
    event stream (`queue/data`) was still open after a minute while every other request had ended;
    what its events showed is still checked (badges, console), so that alone does not fail here."""
    page.wait_for_selector("#storage-note", timeout=timeout_s * 1000)
    deadline, quiet_since = time.monotonic() + timeout_s, time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        if inflight:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
    stuck = [r.url for r in inflight if "/queue/data" not in r.url]
    if stuck:
        raise TimeoutError(f"requests still in flight: {stuck}")


def test_sigterm_stops_everything_the_app_started(space_app, checkout):
    proc, _ = space_app
    assert processes_in(checkout)
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    wait_for(lambda: not processes_in(checkout), 20, "the app's children to stop")


def test_web_only_space_uses_the_given_redis_and_never_imports_torch(
    space_python, checkout, settings, worker_proc, tmp_path
):
    metrics_port = free_port()
    env = space_env(free_port(), REDIS_URL=settings.redis_url, RIO_WEB_METRICS_PORT=str(metrics_port))
    proc, url = run_app(space_python, checkout, env, ARTIFACTS / "space-web-only.log")
    try:
        assert processes_in(checkout) == [proc.pid], "web only: nothing else started"
        chat_with_image_and_share(url, tmp_path)
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        assert 'rio_module_loaded{module="torch"} 0.0' in metrics, metrics
        assert 'rio_module_loaded{module="transformers"} 0.0' in metrics
        assert "libtorch" not in Path(f"/proc/{proc.pid}/maps").read_text()
    finally:
        proc.terminate()
        proc.wait(30)


def test_data_share_links_and_quotas_follow_where_the_app_runs(tmp_path):
    from demo.hosting import public_url, storage_note
    from worker.limits.identity import quota
    from worker.ops.settings import Settings
    from worker.ops.space import data_dir, space_env

    assert data_dir(tmp_path / "repo", storage=tmp_path / "missing") == tmp_path / "repo" / "var"
    (tmp_path / "data").mkdir()
    assert data_dir(tmp_path / "repo", storage=tmp_path / "data") == tmp_path / "data" / "rio"
    contained = space_env({"GRADIO_SERVER_PORT": "7861"}, tmp_path, storage=tmp_path / "data")
    assert contained["RIO_WEB_PORT"] == "7861" and contained["RIO_EMBEDDED_REDIS"] == "1"
    assert contained["REDIS_URL"].startswith("redis://127.0.0.1:")
    assert "RIO_EMBEDDED_REDIS" not in space_env({"REDIS_URL": "rediss://x:6380/0"}, tmp_path)
    space = Settings(system="spaces", space_host="a.hf.space,rio.example.org", embedded_redis=True)
    assert public_url(space) == "https://a.hf.space"
    assert public_url(space.model_copy(update={"public_url": "https://rio.example"})) == "https://rio.example"
    assert public_url(Settings(space_host="a.hf.space")) is None, "SPACE_HOST alone is not a Space"
    assert "lost when it restarts" in storage_note(space, "en")
    assert "persistent storage" in storage_note(space.model_copy(update={"var_dir": Path("/data/rio")}), "en")
    s = Settings(requests_per_minute=3, jobs_per_client=2, user_requests_per_minute=9, user_jobs=5)
    assert quota("user:ana", s) == (9, 5) and quota("ip:1.2.3.4", s) == (3, 2)


def test_the_space_supervisor_restarts_a_child_that_dies_and_stops_them_all(tmp_path):
    """`worker.ops.space.Stack` with two stand-in children (no app): kill -9 one, it is back within
    a few seconds under a new pid; the other is untouched; stop() ends both and restarts neither."""
    import threading

    from worker.ops.space import Stack

    stack = Stack(env=dict(os.environ), root=tmp_path)
    for name in ("redis", "worker"):
        stack.add(name, "-c", "import time; time.sleep(600)")
    threading.Thread(target=stack.watch, daemon=True).start()
    redis_child, worker_child = stack.children
    first, other = redis_child.proc, worker_child.proc
    try:
        first.kill()
        wait_for(lambda: redis_child.proc is not first and redis_child.proc.poll() is None, 20, "the restart")
        assert redis_child.proc.pid != first.pid and worker_child.proc is other and other.poll() is None
    finally:
        stack.stop()
    time.sleep(2.5)  # two of the supervisor's rounds: a stopped child is not restarted
    assert all(c.proc.poll() is not None for c in stack.children) and worker_child.proc is other
