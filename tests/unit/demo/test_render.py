"""What the Chatbot sends to the page is the text the model streamed, character for character."""

from __future__ import annotations

import html

import gradio as gr

from demo.render import chat_messages
from demo.session import ChatSession, Turn
from worker.queue.protocol import AnswerDelta, ReasoningDelta

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
