"""Retry, edit and undo in the chat pane, sent as the browser sends the Chatbot's events (in the session of
a gradio_client that chatted first): a retried answer is a new job and the old one stops; an edited
question is answered anew; undo gives the question back."""

from __future__ import annotations

import time

import pytest
from gradio_client import Client

from demo.knobs import KNOBS
from tests.support.gradio_wire import WireSession, api_event, chatbot_event, config, run_event
from tests.support.helpers import DEFAULTS, chat, last_answer, text_of, tokens_within, value


@pytest.fixture(scope="module")
def client(web) -> Client:
    return Client(web, verbose=False)


def send(web: str, client: Client, event: str, data: dict, **side) -> list:
    """The chat pane's `event`, in `client`'s session; the last update's outputs."""
    chosen = {**DEFAULTS, **side}  # in the event's input order: model, reasoning, then the knobs as KNOBS lists them
    inputs = (
        [None] if event == "undo" else [None, chosen["model"], chosen["reasoning"], *(chosen[k.name] for k in KNOBS)]
    )
    return list(run_event(web, chatbot_event(config(web), "chat", event), inputs, session_hash=client.session_hash,
                          event_data=data, final_only=True))[-1]  # fmt: skip


def users(messages: list[dict]) -> list[str]:
    return [text_of(m) for m in messages if m["role"] == "user"]


def test_retry_is_a_new_job_and_the_old_one_stops(web):
    """Chat and retry in one session whose one event stream this test reads (see WireSession)."""
    cfg, session = config(web), WireSession(web)

    def knobs(max_tokens: int) -> list:
        return [{**DEFAULTS, "max_tokens": max_tokens}[k.name] for k in KNOBS]

    asked = session.join(api_event(cfg, "chat"), [{"text": "Write a very long answer.", "files": []}, None, None,
                                                  "paced", "off", *knobs(2000)])  # fmt: skip
    updates = session.updates()
    for eid, _, out in updates:
        if eid == asked and last_answer(out[0]).answer:
            break
    retried_at = time.monotonic()
    retry = {"index": len(out[0]) - 1, "value": None}
    retried = session.join(chatbot_event(cfg, "chat", "retry"), [None, "paced", "off", *knobs(8)], retry)
    ended: dict[str, tuple[float, list]] = {}
    for eid, completed, out in updates:
        if completed:
            ended[eid] = (time.monotonic() - retried_at, out)
        if len(ended) == 2:
            break
    session.close()
    # the old answer's job was cancelled: its event ends at once, not after 2000 tokens
    assert ended[asked][0] < 5, ended[asked][0]
    messages = ended[retried][1][0]
    assert users(messages) == ["Write a very long answer."], "the question once, its answer replaced"
    assert "8 tokens" in last_answer(messages).footer and "Stopped" not in last_answer(messages).footer


def test_an_edited_question_is_answered_anew_and_undo_gives_it_back(web, client):
    chat(client, "Hello there.", max_tokens=4).result()
    chat(client, "A second question.", max_tokens=4).result()
    out = send(web, client, "edit", {"index": 0, "value": "Olá!", "previous_value": "Hello there."}, max_tokens=4)
    messages = out[0]
    assert users(messages) == ["Olá!"], "the edit replaces the question and drops what came after"
    tokens_within(last_answer(messages).footer, 4)  # answered: a job of its own, to its end
    out = send(web, client, "undo", {"index": 0, "value": "Olá!"})
    assert value(out[0]) == [] and value(out[1])["text"] == "Olá!"
    client.predict(api_name="/new_chat")
