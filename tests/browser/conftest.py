"""One headless Chromium (Debian's) for every browser test, and where their screenshots go."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import ARTIFACTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SHOTS = ARTIFACTS / "screenshots"


@pytest.fixture(scope="package")
def browser() -> Iterator:
    """Closed when tests/browser/ ends: an open sync Playwright holds an event loop in this thread, and every
    later `asyncio.run` (the Redis and hub tests) would fail with "cannot be called from a running event loop"."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()
