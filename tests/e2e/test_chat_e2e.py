"""The whole path through real parts: Gradio app -> Celery on Redis -> tiny model -> streamed back."""

from __future__ import annotations

import re
import time

import pytest
from gradio_client import Client
from PIL import Image

from tests.support.helpers import chat, last_answer, tokens_within


@pytest.fixture(scope="module")
def client(web) -> Client:
    return Client(web, verbose=False)


def test_text_prompt_streams_to_the_end(client):
    job = chat(client, "Hello Rio, think step by step.", max_tokens=96)
    updates = [last_answer(out[0]) for out in job]
    final = last_answer(job.result()[0])
    tokens = tokens_within(final.footer, 96)  # the tiny model may end early on its own
    assert len(updates) >= min(4, tokens), "tokens should arrive as several updates, not one"
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
    # the paced model: an answer that certainly outlasts the Stop (the tiny model may end on its own first;
    # closing the local engine mid-stream is tests/unit/worker/test_local_backend.py)
    job = chat(client, "Write a very long answer.", model="paced", max_tokens=2000, reasoning="off")
    for out in job:
        if last_answer(out[0]).answer:
            break
    stopped_at = time.monotonic()
    client.predict(api_name="/stop")
    while not job.done():
        time.sleep(0.02)
    assert time.monotonic() - stopped_at < 1.0
    assert "Stopped" in last_answer(job.result()[0]).footer
    nxt = chat(client, "And now a short one.", model="paced", max_tokens=8, reasoning="off").result()[0]
    assert "8 tokens" in last_answer(nxt).footer
    client.predict(api_name="/new_chat")


def test_swireasoning_job_streams_its_counts_and_latent_marks_consistently(client):
    """Through every real part, on whatever path the tiny model takes on this CPU: the page's counts agree
    with each other and with its marks. Each switch, latent step and the budget finish, reached by
    construction and shown exactly: tests/unit/worker/test_local_backend.py."""
    job = chat(
        client, "Think in switches.", reasoning="swireasoning", window=4, max_switch_count=0, max_tokens=80, seed=3
    )
    messages = job.result()[0]
    final = last_answer(messages)
    client.predict(api_name="/new_chat")
    tokens = tokens_within(final.footer, 80)
    match = re.search(r"thinking (\d+) explicit \+ (\d+) latent(?: · (\d+) (switch|switches)\b)?", final.footer)
    assert match, final.footer
    explicit, latent, switches = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    assert match.group(3) != "0" and (switches == 1) == (match.group(4) == "switch"), "'1 switch', 'N switches'"
    assert latent >= 1, "generation starts latent (the controller's first step), so one latent step at least"
    assert 1 <= explicit + latent <= tokens, "the thinking steps are steps of this answer"
    assert 'class="swir-latent"' not in final.thinking or latent >= 1, "latent marks only where latent steps were"
    # the timeline under the answer is drawn from the same events: its stretches and totals are the marks'
    bar = final.timeline
    drawn = {
        k: sum(int(n) for n in re.findall(rf'class="{k}" style="flex: (\d+)', bar)) for k in ("explicit", "latent")
    }
    assert (drawn["explicit"], drawn["latent"]) == (explicit, latent), bar
    assert bar.count('class="latent"') == final.thinking.count('class="swir-latent"'), "one stretch per marked one"
    assert f"{explicit} explicit and {latent} latent tokens" in bar, "the text alternative says the same"
    titles = [m["metadata"].get("title", "") for m in messages if m.get("metadata")]
    want = f"Thinking · {switches} switch{'es' if switches > 1 else ''}" if switches else "Thinking"
    assert all(t == want for t in titles), "the thinking block's title counts the same switches"


def test_three_chats_at_once_finish_each_with_its_own_text_and_stats(web):
    """Three visitors on the local engine at once (one decode loop): each gets the answer and the
    token count it gets alone with the same seed."""
    asks = [("Tell me about rivers.", 24, 11), ("Tell me about stars, please.", 32, 12), ("Bread?", 40, 13)]
    clients = [Client(web, verbose=False) for _ in asks]
    jobs = [chat(c, text, max_tokens=n, seed=seed) for c, (text, n, seed) in zip(clients, asks, strict=True)]
    together = [last_answer(j.result()[0]) for j in jobs]
    for c in clients:
        c.predict(api_name="/new_chat")
    for (text, n, seed), got in zip(asks, together, strict=True):
        alone = last_answer(chat(clients[0], text, max_tokens=n, seed=seed).result()[0])
        clients[0].predict(api_name="/new_chat")
        assert (got.thinking, got.answer) == (alone.thinking, alone.answer)
        assert re.search(r"· (\d+) tokens", got.footer).group(1) == re.search(r"· (\d+) tokens", alone.footer).group(1)
