"""The reasoning timeline is built from the events a turn folds in: stretches, switches and the answer."""

from __future__ import annotations

import re

from demo.render import chat_messages
from demo.session import ChatSession, Turn
from demo.timeline import build_timeline, describe, timeline_html
from worker.queue.protocol import AnswerDelta, Done, ReasoningDelta, Stats, Switch

LATENT, EXPLICIT = True, False


def folded(events) -> Turn:
    turn = Turn(user_text="2+2?", job_id="j")
    for e in events:
        turn.apply(e)
    return turn


def swir_events(stats: bool):
    """3 latent steps, a switch, 2 explicit, a switch, 1 latent, then 2 answer tokens."""
    out = [ReasoningDelta(delta=f"l{i}", latent=True) for i in range(3)]
    out += [Switch(to="explicit", step=3, count=1)] + [ReasoningDelta(delta=f"e{i}") for i in range(2)]
    out += [Switch(to="latent", step=5, count=1), ReasoningDelta(delta="l3", latent=True)]
    out += [AnswerDelta(delta="4"), AnswerDelta(delta=".")]
    if stats:
        out.append(Stats(completion_tokens=9, reasoning_tokens=7, latent_steps=4, switches=1))
    return [*out, Done(finish_reason="stop")] if stats else out


def test_segments_follow_the_stretches_and_switches_while_streaming():
    turn = folded(swir_events(stats=False))
    tl = build_timeline(turn.stretches(), turn.answer_steps, turn.stats)
    kinds = [(s.kind, s.tokens) for s in tl.segments]
    assert kinds == [("latent", 3), ("explicit", 2), ("latent", 1), ("answer", 2)]
    assert tl.switches == 2


def test_stats_set_the_proportions_once_the_job_ends():
    """The end-of-think token is a reasoning token with no text: stats add it to the explicit stretch."""
    turn = folded(swir_events(stats=True))
    tl = build_timeline(turn.stretches(), turn.answer_steps, turn.stats)
    assert [(s.kind, s.tokens) for s in tl.segments] == [("latent", 3), ("explicit", 3), ("latent", 1), ("answer", 2)]
    assert (tl.tokens("latent"), tl.tokens("explicit")) == (4, 3)


def test_the_bar_draws_each_segment_in_proportion_with_a_sentence_for_screen_readers():
    turn = folded(swir_events(stats=True))
    bar = timeline_html(build_timeline(turn.stretches(), turn.answer_steps, turn.stats), "en")
    assert re.findall(r'class="(\w+)" style="flex: (\d+) 1 0"', bar) == [
        ("latent", "3"), ("explicit", "3"), ("latent", "1"), ("answer", "2")]  # fmt: skip
    assert bar.count('class="switch"') == 2
    sentence = (
        "Reasoning: 3 explicit and 4 latent tokens, in 3 stretches (2 changes between explicit and latent); "
        "then the answer, 2 tokens."
    )
    assert f'aria-label="{sentence}"' in bar and f">{sentence}</span>" in bar
    pt = describe(build_timeline(turn.stretches(), turn.answer_steps, turn.stats), "pt")
    assert pt.startswith("Raciocínio: 3 tokens explícitos e 4 latentes, em 3 trechos (2 mudanças")


def test_the_answer_message_carries_the_bar_and_a_record_round_trip_keeps_it():
    session = ChatSession(turns=[folded(swir_events(stats=True))])
    body = chat_messages(session)[-1]["content"]["text"]
    assert 'class="swir-timeline"' in body
    again = Turn.from_record(session.turns[0].record(), "/tmp")
    assert again.stretches() == session.turns[0].stretches() and again.answer_steps == 2


def test_no_thinking_no_bar():
    turn = folded([AnswerDelta(delta="4"), Stats(completion_tokens=1), Done(finish_reason="stop")])
    assert "swir-timeline" not in chat_messages(ChatSession(turns=[turn]))[-1]["content"]["text"]
