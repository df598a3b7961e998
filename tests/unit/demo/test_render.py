"""What the Chatbot sends to the page is the text the model streamed, character for character."""

from __future__ import annotations

import html

import gradio as gr

from demo.render import chat_messages, diff_summary
from demo.session import ChatSession, Turn
from worker.queue.protocol import AnswerDelta, ReasoningDelta, Stats

CODE = "Indented:\n\n    def add(a, b):\n        return a + b"


def shown(turn: Turn) -> list[str]:
    """The texts of the messages as Gradio's own Chatbot postprocess sends them."""
    out = gr.Chatbot().postprocess(chat_messages(ChatSession(turns=[turn]))).model_dump()
    return [part["text"] for m in out for part in m["content"] if part.get("type") == "text"]


def test_streamed_indentation_is_not_rewritten_between_updates():
    turn = Turn(user_text="  two spaces\n  before each line", job_id="j")
    for piece in ["Let", ":\n", " )"]:  # the second line alone is indented while it streams
        turn.apply(ReasoningDelta(delta=piece))
    assert shown(turn)[:2] == ["  two spaces\n  before each line", html.escape("Let:\n )")]
    turn.apply(ReasoningDelta(delta="\nnext"))
    assert shown(turn)[1] == html.escape("Let:\n )\nnext")  # a prefix of what was shown before, still


def test_an_indented_code_block_in_the_answer_keeps_its_indentation():
    turn = Turn(user_text="code?", job_id="j")
    turn.apply(AnswerDelta(delta=CODE))
    assert shown(turn)[-1].startswith(CODE)


def test_the_compare_summary_names_a_first_answer_only_when_the_footers_differ():
    def finished(ttft_ms: float) -> Turn:
        turn = Turn(user_text="q", job_id="j")
        turn.apply(Stats(completion_tokens=5, ttft_ms=ttft_ms))
        return turn

    # 49.6 and 50.4 ms both show as "TTFT 50 ms" in their footers: the summary calls it even
    assert "both gave their first token in 50 ms" in diff_summary("A", finished(50.4), "B", finished(49.6), "en")
    assert "os dois deram o 1º token em 50 ms" in diff_summary("A", finished(50.4), "B", finished(49.6), "pt")
    assert "B answered first (TTFT 52 vs 49 ms)" in diff_summary("A", finished(52.0), "B", finished(49.2), "en")
