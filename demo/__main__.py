"""`python -m demo`: the web process (Gradio on 0.0.0.0:7860 by default)."""

from __future__ import annotations

import logging

from demo.app import CSS, build_app
from demo.chat import ChatService
from demo.server import serve
from worker.jobs import JobClient, Settings, available, default_pair, serve_metrics, start_dataset_push


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    client = JobClient.from_settings(settings)
    upload_dir = (settings.var_dir / "uploads").resolve()
    service = ChatService(client, upload_dir)
    serve_metrics(settings.web_metrics_port, settings.redis_url, [e.key for e in available(settings)])
    start_dataset_push(settings)  # a no-op unless RIO_DATASET_REPO and HF_TOKEN are set
    serve(build_app(service, available(settings), default_pair(settings)), settings, upload_dir, CSS)


if __name__ == "__main__":
    main()
