"""`python -m demo`: the web process (Gradio on 0.0.0.0:7860 by default)."""

from __future__ import annotations

import logging

from demo.app import CSS, build_app
from demo.chat import ChatService
from worker.jobs import JobClient, Settings, available, default_pair, serve_metrics


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    client = JobClient.from_settings(settings)
    upload_dir = (settings.var_dir / "uploads").resolve()
    service = ChatService(client, upload_dir)
    serve_metrics(settings.web_metrics_port, settings.redis_url, [e.key for e in available(settings)])
    demo = build_app(service, available(settings), default_pair(settings))
    demo.queue(default_concurrency_limit=None, max_size=2048)
    demo.launch(
        server_name=settings.web_host,
        server_port=settings.web_port,
        max_threads=256,
        allowed_paths=[str(upload_dir)],
        css=CSS,
        show_error=True,
    )


if __name__ == "__main__":
    main()
