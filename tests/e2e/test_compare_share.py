"""Compare, share links and blind battles through the real page (gradio_client), Celery and the tiny model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from tests.support.helpers import DEFAULTS, last_answer, text_of, tokens_within, value

KNOBS = {k: v for k, v in DEFAULTS.items() if k not in ("model", "reasoning")}


@pytest.fixture()
def client(web) -> Client:
    return Client(web, verbose=False)


def compare(client: Client, text: str, a=("tiny-random", "swireasoning"), b=("tiny-random", "thinking"), files=(),
            **knobs):  # fmt: skip
    message = {"text": text, "files": [handle_file(f) for f in files]}
    sides = {"model_a": a[0], "reasoning_a": a[1], "model_b": b[0], "reasoning_b": b[1]}
    return client.submit(message, **sides, **{**KNOBS, **knobs}, api_name="/compare")


def panes(out) -> tuple[list[dict], list[dict], str]:
    return value(out[0]), value(out[1]), value(out[2])


def open_share(client: Client, share_id: str) -> list:
    """Description, pane A, pane B and the difference line of a shared view."""
    return [value(x) for x in client.predict(share_id, api_name="/open_share")[:4]]


def texts(messages: list[dict]) -> list[tuple[str, str]]:
    """Role and text of each message; an image as its name in Gradio's content-hashed cache."""
    out = []
    for m in messages:
        files = [p for p in m["content"] if p.get("type") == "file"] if isinstance(m["content"], list) else []
        out.append((m["role"], f"<file {Path(files[0]['file']).parent.name}>" if files else text_of(m)))
    return out


def test_both_sides_stream_at_once_and_end_with_stats_and_a_summary(client):
    job = compare(client, "Compare yourselves.", max_tokens=120, seed=4)
    both_partial = 0
    for out in job:
        a, b, _ = panes(out)
        ra, rb = last_answer(a), last_answer(b)
        if (ra.thinking or ra.answer) and (rb.thinking or rb.answer) and not (ra.footer and rb.footer):
            both_partial += 1
    a, b, summary = panes(job.result())
    assert both_partial >= 2, "both sides should be seen growing together, not one after the other"
    stats = []
    for pane in (a, b):
        found = re.search(r"TTFT (\d+) ms · [\d.]+ tok/s · (\d+) tokens", last_answer(pane).footer)
        assert found, last_answer(pane).footer
        stats.append((int(found.group(1)), int(found.group(2))))
    (ttft_a, n_a), (ttft_b, n_b) = stats
    # the summary says what the two footers say: each side's token count and TTFT, and which came first
    assert re.search(rf"; {n_a} vs {n_b} tokens\.$", summary, re.M), summary
    tiny = "tiny-random (random weights, meaningless output)"
    if ttft_a == ttft_b:
        assert f"both gave their first token in {ttft_a} ms" in summary, summary
    else:
        first = f"{tiny} · SwiReasoning" if ttft_a < ttft_b else f"{tiny} · thinking"
        assert f"{first} answered first (TTFT {ttft_a} vs {ttft_b} ms)" in summary, summary


def test_a_failing_side_shows_its_error_while_the_other_keeps_streaming(client):
    job = compare(client, "One side is down.", a=("tiny-random", "off"), b=("qwen3.5-397b-a17b", "thinking"),
                  max_tokens=300)  # fmt: skip
    growth_after_error = []
    for out in job:
        a, b, _ = panes(out)
        if "This model is down right now" in last_answer(b).footer and not last_answer(a).footer:
            growth_after_error.append(len(last_answer(a).answer))
    a, b, _ = panes(job.result())
    assert "This model is down right now" in last_answer(b).footer
    tokens_within(last_answer(a).footer, 300)
    assert len(set(growth_after_error)) >= 2, "side A kept streaming after side B failed"


def test_stop_one_side_regenerate_and_a_second_turn(client):
    job = compare(client, "Write at length.", a=("paced", "off"), b=("paced", "off"), max_tokens=2000)
    stopped_a = False
    for out in job:
        a, b, _ = panes(out)
        if not stopped_a and last_answer(a).answer and last_answer(b).answer:
            client.predict(api_name="/stop_a")
            stopped_a = True
        elif stopped_a and "Stopped" in last_answer(a).footer:
            assert not last_answer(b).footer, "stopping A leaves B streaming"
            client.predict(api_name="/stop_b")
            break
    a, b, _ = panes(job.result())
    assert "Stopped" in last_answer(a).footer and "Stopped" in last_answer(b).footer
    knobs = {**KNOBS, "max_tokens": 8}
    sides = {"model_a": "paced", "reasoning_a": "off", "model_b": "paced", "reasoning_b": "off"}
    a2, b2, _ = panes(client.predict(**sides, **knobs, api_name="/regenerate"))
    assert "8 tokens" in last_answer(a2).footer and "8 tokens" in last_answer(b2).footer, "with the new knobs"
    assert sum(m["role"] == "user" for m in a2) == 1, "regenerate replaces the last answer, it adds no turn"
    a3, _, _ = panes(compare(client, "And a follow-up.", max_tokens=8).result())
    assert sum(m["role"] == "user" for m in a3) == 2
    client.predict(api_name="/new_compare")


def test_stop_both_ends_both_sides_at_once(client):
    job = compare(client, "Write at length, both.", a=("paced", "off"), b=("paced", "off"), max_tokens=2000)
    for out in job:
        a, b, _ = panes(out)
        if last_answer(a).answer and last_answer(b).answer:
            client.predict(api_name="/stop_both")
            break
    a, b, _ = panes(job.result())
    client.predict(api_name="/new_compare")
    for pane in (a, b):
        footer = last_answer(pane).footer
        assert "Stopped" in footer and "2000 tokens" not in footer, footer


def test_share_round_trips_exactly_and_cannot_be_changed(client, tmp_path):
    img = tmp_path / "blue.png"
    Image.new("RGB", (64, 48), (20, 40, 220)).save(img)
    a, b, summary = panes(compare(client, "Look at this.", files=[str(img)], max_tokens=24).result())
    link = value(client.predict(api_name="/share_compare"))
    match = re.search(r"\?share=([A-Za-z0-9_-]+)$", link)
    assert match and len(match.group(1)) == 24, link
    share_id = match.group(1)
    info, sa, sb, s_summary = open_share(client, share_id)
    assert "Comparison of" in info and "read-only" in info
    assert texts(sa) == texts(a) and texts(sb) == texts(b)
    assert texts(sa)[0][1].startswith("<file "), "the image is part of the snapshot"
    assert s_summary == summary

    client.predict(api_name="/new_compare")
    client.predict(api_name="/continue_share")
    follow_up, _, _ = panes(compare(client, "Continue from the shared one.", max_tokens=8).result())
    assert texts(follow_up)[: len(sa)] == texts(sa), "the continued chat starts from the shared one"
    tokens_within(last_answer(follow_up).footer, 8)  # and its image is usable again by the worker
    again = open_share(client, share_id)
    assert texts(again[1]) == texts(sa) and texts(again[2]) == texts(sb), "the shared view never changes"


@pytest.mark.parametrize(
    ("share_id", "message"),
    [("A" * 24, "No shared conversation has that link"), ("../../etc/passwd", "malformed"), ("", "malformed")],
)
def test_unknown_or_malformed_share_ids_get_a_clear_message(client, share_id, message):
    info, *_ = open_share(client, share_id)
    assert message in info


def test_chat_share_keeps_models_parameters_and_stats(client):
    from tests.support.helpers import chat

    mine = last_answer(chat(client, "Share me.", max_tokens=16, temperature=0.3).result()[0])
    link = value(client.predict(api_name="/share_chat"))
    share_id = link.rsplit("=", 1)[1]
    info, sa, *_ = open_share(client, share_id)
    assert "Chat with **tiny-random" in info
    tokens_within(mine.footer, 16)
    assert last_answer(sa).footer == mine.footer, "the shared view keeps the stats line exactly"
    client.predict(api_name="/new_chat")


def test_battle_hides_names_until_the_vote_then_counts_it(client):
    client.predict(api_name="/new_battle")
    message = {"text": "Battle!", "files": []}
    shown = client.predict(message, **KNOBS, api_name="/battle")[:3]  # values and any label updates
    a, b, info = map(value, shown)
    assert "shown after you vote" in info
    assert last_answer(a).footer and last_answer(b).footer
    before = {row[0]: row[3] for row in client.predict(api_name="/leaderboard")["data"]}
    revealed = client.predict(api_name="/vote_a")
    names = re.findall(r"was \*\*(.+?)\*\*", revealed)
    assert len(names) == 2 and names[0] != names[1], revealed
    for word in ("tiny-random", *names):  # no model name in the panes, their labels or the line above
        assert word not in repr(shown), f"{word!r} was visible before the vote"
    board = {row[0]: row for row in client.predict(api_name="/leaderboard")["data"]}
    for name in names:
        assert board[name][3] == before.get(name, 0) + 1, "the vote counts once for each side"
    assert client.predict(api_name="/vote_b") == revealed, "a battle takes one vote"
    again = {row[0]: row[3] for row in client.predict(api_name="/leaderboard")["data"]}
    assert again == {row[0]: row[3] for row in board.values()}, "the second vote was not counted"
