"""How one web process serves a crowd: Gradio's queue, job cap and thread pool, set apart."""

from __future__ import annotations

import gc
import importlib.util
import os
import sys
from pathlib import Path

import gradio as gr
from anyio import CapacityLimiter
from starlette.middleware import Middleware

from demo.hosting import examples_dir
from demo.i18n import I18N
from demo.page_cache import PageCache
from demo.page_js import EarlyScript
from demo.page_state import hold_sessions_lazily
from worker.jobs import Settings

GC_YOUNG_THRESHOLD = 10_000  # allocations between young collections (CPython's default: 700)


def serve(demo: gr.Blocks, settings: Settings, upload_dir: Path, css: str) -> None:
    """Launch the page. Every streaming chat is one running Gradio job, so the job cap (`web_job_cap`)
    must exceed the streams a process holds; Gradio ties it to the thread limiter (`max_threads`),
    which our async handlers never use, so the limiter is set back to `web_threads` at startup.
    uvicorn would pick uvloop and httptools by itself if installed; they are not (see the README)."""
    skip_matplotlib_probe()
    # One rule for a visitor's address (demo/visitor.py), on the socket's own peer: uvicorn, as Gradio
    # starts it, would otherwise replace the peer with an X-Forwarded-For entry whenever the peer is
    # loopback (its FORWARDED_ALLOW_IPS, 127.0.0.1 by default). Trusted proxies: RIO_TRUSTED_PROXIES.
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    start_queue(demo, settings)

    async def own_thread_pool_and_sessions() -> None:
        demo.limiter = CapacityLimiter(settings.web_threads)  # type: ignore[assignment]  # Gradio types it None
        hold_sessions_lazily(demo)
        settle_garbage_collector()

    demo.extra_startup_events.append(own_thread_pool_and_sessions)
    demo.launch(
        server_name=settings.web_host,
        server_port=settings.web_port,
        max_threads=settings.web_job_cap,
        allowed_paths=[str(upload_dir), str(examples_dir(settings))],
        css=css,
        i18n=I18N,
        # the page built once per address (replayed with its early script), the page's language set before Gradio starts
        app_kwargs={"middleware": [Middleware(PageCache), Middleware(EarlyScript)]},
        show_error=True,
    )


def start_queue(demo: gr.Blocks, settings: Settings) -> None:
    """Gradio's queue, without its event history: after every event it summarises the last 10,000
    events with pandas (3 ms per event at 100 of them, 8 ms at 10,000: a quarter of a page load's CPU,
    and more the longer the process runs) for a monitoring page this app never enables (its metrics
    are Prometheus's, README). Gradio's own settings: keep one event, summarise never."""
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(sys.maxsize))
    demo.queue(default_concurrency_limit=None, max_size=settings.web_queue_size)


def settle_garbage_collector() -> None:
    """Move what startup built (the page, Gradio, pydantic schemas: ~200k objects) out of the
    collector's sight, and collect young objects less often: a burst of new chats allocates fast, and
    each full pass over the startup objects cost the event loop ~80 ms (gc callbacks, `bench.web`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def skip_matplotlib_probe() -> None:
    """Gradio tries `import matplotlib` around every call of a handler, each streamed update included
    (to pin its backend). Without matplotlib installed that is a failed search of `sys.path` every
    time (~5% of a loaded web process, py-spy); marking the module absent makes it fail at once."""
    if importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]  # "absent": import raises at once
