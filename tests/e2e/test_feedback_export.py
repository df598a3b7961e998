"""Feedback and the export, end to end: a visitor rates an answer through the real page (the Chatbot's
like event as the browser sends it, then the reason and comment), it is kept in the real Redis and
counted in /metrics, and `python -m worker.export` writes exactly what the page stored."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from gradio_client import Client

from tests.support.gradio_wire import chatbot_event, config, run_event
from tests.support.helpers import chat, last_answer, value
from worker.ops.devstack import ROOT


@pytest.fixture(scope="module")
def client(web) -> Client:
    return Client(web, verbose=False)


def export(settings, kind: str, since: float, tmp_path) -> list[dict]:
    out = tmp_path / f"{kind}.jsonl"
    env = {**os.environ, "RIO_REDIS_URL": settings.redis_url}
    subprocess.run([sys.executable, "-m", "worker.export", kind, "--since", str(since), "--out", str(out)],
                   cwd=ROOT, env=env, check=True, timeout=60)  # fmt: skip
    return [json.loads(line) for line in out.read_text().splitlines()]


def like(web: str, client: Client, elem_id: str, index: int, liked: bool, data: list) -> list:
    """The Chatbot's thumb, clicked as the browser sends it, in the session of `client`."""
    dep = chatbot_event(config(web), elem_id, "like")
    event = {"index": index, "value": None, "liked": liked}
    return list(run_event(web, dep, data, session_hash=client.session_hash, event_data=event))[-1]


def feedback_count(settings, rating: str) -> float:
    body = httpx.get(f"http://127.0.0.1:{settings.web_metrics_port}/metrics", timeout=10).text
    match = re.search(rf'rio_feedback_total{{model="tiny-random",rating="{rating}"}} ([\d.]+)', body)
    return float(match.group(1)) if match else 0.0


def test_a_rated_answer_is_kept_with_its_conversation_and_exported_as_stored(web, settings, client, tmp_path):
    since = time.time()
    messages = chat(client, "Rate this answer.", max_tokens=12, seed=5).result()[0]
    answer = last_answer(messages)
    downs = feedback_count(settings, "down")
    note = value(like(web, client, "chat", len(messages) - 1, False, [None, None])[2])
    assert note == "👎 Thank you! Rating kept."  # a client that names no language: English
    assert feedback_count(settings, "down") == downs + 1
    out = client.predict("wrong", "Não respondeu à pergunta.", api_name="/chat_feedback_details")
    assert "Thank you! Reason and comment kept." in [value(o) for o in out], out
    assert feedback_count(settings, "down") == downs + 1, "details change the record, not the count"
    [fb] = export(settings, "feedback", since, tmp_path)
    assert (fb["view"], fb["rating"], fb["reason"], fb["comment"]) == (
        "chat",
        "down",
        "wrong",
        "Não respondeu à pergunta.",
    )
    turn = fb["conversation"]["turns"][fb["turn"]]
    assert fb["conversation"]["model"] == "tiny-random" and turn["user_text"] == "Rate this answer."
    assert turn["answer"].strip() == answer.answer.strip() and fb["job_id"] == turn["job_id"]
    client.predict(api_name="/new_chat")


def test_a_question_is_not_an_answer(web, client):
    messages = chat(client, "Only the answer can be rated.", max_tokens=4).result()[0]
    user_index = max(i for i, m in enumerate(messages) if m["role"] == "user")
    assert value(like(web, client, "chat", user_index, True, [None, None])[2]) == "Only finished answers can be rated."
    client.predict(api_name="/new_chat")


def test_shares_are_exported_as_stored(settings, client, tmp_path):
    since = time.time()
    chat(client, "Share me.", max_tokens=6).result()
    link = value(client.predict(api_name="/share_chat"))
    share_id = link.rsplit("share=", 1)[-1]
    [share] = [s for s in export(settings, "shares", since, tmp_path) if s["share_id"] == share_id]
    stored = json.loads(__import__("redis").Redis.from_url(settings.redis_url).get(f"share:{share_id}"))
    assert {k: v for k, v in share.items() if k != "share_id"} == stored
    client.predict(api_name="/new_chat")
