"""The whole path through real parts: Gradio app -> Celery on Redis -> tiny model -> streamed back."""

from __future__ import annotations

import re
import time

import pytest
from gradio_client import Client
from PIL import Image

from tests.helpers import chat, last_answer


@pytest.fixture(scope="module")
def client(web) -> Client:
    return Client(web, verbose=False)


def test_text_prompt_streams_to_the_end(client):
    job = chat(client, "Hello Rio, think step by step.", max_tokens=96)
    updates = [last_answer(out[0]) for out in job]
    final = last_answer(job.result()[0])
    assert len(updates) >= 4, "tokens should arrive as several updates, not one"
    assert "96 tokens" in final.footer or "Cut at the token limit" in final.footer or "tokens" in final.footer
    assert final.thinking or final.answer
    grown = [u for u in updates if u.answer or u.thinking]
    # every intermediate rendering is a prefix of the final one: nothing shown is lost or rewritten
    for u in grown:
        assert final.thinking.startswith(u.thinking)
        assert final.answer.startswith(u.answer)
    assert re.search(r"TTFT \d+ ms · [\d.]+ tok/s · \d+ tokens · prompt \d+", final.footer)


def prompt_tokens(footer: str) -> int:
    match = re.search(r"prompt (\d+)", footer)
    assert match, footer
    return int(match.group(1))


def test_image_reaches_the_model(client, tmp_path):
    path = tmp_path / "red.png"
    Image.new("RGB", (120, 90), (200, 30, 30)).save(path)
    with_image = last_answer(chat(client, "What is this?", [str(path)], max_tokens=4).result()[0])
    client.predict(api_name="/new_chat")
    text_only = last_answer(chat(client, "What is this?", max_tokens=4).result()[0])
    client.predict(api_name="/new_chat")
    # 120x90 resizes to 128x96: 8x6 patches of 16 px, merged 2x2 -> 12 image tokens, + vision start/end
    assert prompt_tokens(with_image.footer) - prompt_tokens(text_only.footer) == 12 + 2


def test_stop_ends_the_job_within_a_second_and_the_worker_takes_the_next(client):
    job = chat(client, "Write a very long answer.", max_tokens=2000, mode="off")
    for out in job:
        if last_answer(out[0]).answer:
            break
    stopped_at = time.monotonic()
    client.predict(api_name="/stop")
    while not job.done():
        time.sleep(0.02)
    assert time.monotonic() - stopped_at < 1.0
    assert "Stopped" in last_answer(job.result()[0]).footer
    nxt = chat(client, "And now a short one.", max_tokens=8, mode="off").result()[0]
    assert "8 tokens" in last_answer(nxt).footer
    client.predict(api_name="/new_chat")


def test_swireasoning_job_streams_latent_steps_and_switches(client):
    job = chat(client, "Think in switches.", mode="swireasoning", window=4, max_switch_count=0, max_tokens=80, seed=3)
    final = last_answer(job.result()[0])
    client.predict(api_name="/new_chat")
    match = re.search(r"thinking (\d+) explicit \+ (\d+) latent · (\d+) switch(?:es)?", final.footer)
    assert match, final.footer
    explicit, latent, switches = map(int, match.groups())
    assert latent >= 1 and switches >= 1 and explicit >= 1
    assert 'class="swir-latent"' in final.thinking, "latent stretches are marked in the page"
