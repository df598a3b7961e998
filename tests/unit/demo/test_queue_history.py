"""The web's Gradio queue keeps no event history to summarise (`demo.server.start_queue`): Gradio
would build a pandas frame of its last 10,000 events after every event, for a page this app never shows."""

from __future__ import annotations

import os

import gradio as gr
from gradio.queueing import Queue

from demo.server import start_queue
from worker.jobs import Settings


def test_no_event_history_is_kept_or_summarised(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if not k.startswith("GRADIO_ANALYTICS")})
    with gr.Blocks() as demo:
        gr.Textbox()
    start_queue(demo, Settings(var_dir=tmp_path))
    queue = demo._queue

    def no_frame(records: object) -> None:
        raise AssertionError("the queue summarised its event history")

    monkeypatch.setattr(Queue, "_get_df", staticmethod(no_frame))
    record = {"time": 0.0, "status": "success", "process_time": 0.1, "function": "chat", "session_hash": "s"}
    queue.events_recorded = 10_000  # as after a day of visitors
    assert queue.compute_analytics_summary([record] * 100) == {"functions": {}}
    assert queue.ANALYTICS_MAX_EVENTS == 1  # what each event copies for it: one record, not 10,000
