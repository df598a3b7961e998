"""Retry, undo and edit in the chat pane (the Chatbot's own `retry`, `undo` and `edit` events).

Each names a message by its index; the turn it belongs to is found with `render.message_turns`. A
running answer is stopped first (its job cancelled, so the worker frees its slot); the turns after
the one acted on go; retry and edit then run that turn again as a new job, whose events alone the
pane shows from then on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from demo.chat import ChatService
from demo.render import chat_messages, message_turns
from demo.session import ChatSession, Params, Turn
from demo.wire import wire

Answer = Callable[[ChatSession, Turn, Params, gr.Request], AsyncIterator[dict]]


@dataclass
class ChatEdits:
    chatbot: gr.Chatbot
    textbox: gr.MultimodalTextbox
    session: gr.State
    side_inputs: dict  # named inputs: model, reasoning, then the knobs (widgets.Knobs.inputs)
    busy: list  # what a streaming answer updates


def turn_of(state: ChatSession, index: Any, role: str) -> int | None:
    shown = message_turns(state)
    if not isinstance(index, int) or not 0 <= index < len(shown) or shown[index][1] != role:
        return None
    return shown[index][0]


async def cut_at(service: ChatService, state: ChatSession, turn: int) -> Turn:
    """Stop a running answer, drop the turns after `turn`; returns the turn acted on."""
    await service.stop(state)
    kept = state.turns[turn]
    del state.turns[turn + 1 :]
    return kept


def wire_edits(service: ChatService, edits: ChatEdits, answer: Answer) -> None:
    chatbot, textbox = edits.chatbot, edits.textbox

    async def retry(state: ChatSession, data: gr.RetryData, request: gr.Request, **choice: Any) -> AsyncIterator[dict]:
        turn = turn_of(state, data.index, "assistant")
        if turn is None:
            return
        fresh = (await cut_at(service, state, turn)).retry()
        state.turns[turn] = fresh
        async for update in answer(state, fresh, Params.parse(choice), request):
            yield update

    async def edit(state: ChatSession, data: gr.EditData, request: gr.Request, **choice: Any) -> AsyncIterator[dict]:
        turn = turn_of(state, data.index, "user")
        if turn is None or not isinstance(data.value, str) or not data.value.strip():
            yield wire({chatbot: chat_messages(state)})  # an image or an emptied message: left as it was
            return
        old = await cut_at(service, state, turn)
        fresh = Turn(user_text=data.value.strip(), image_refs=list(old.image_refs), image_paths=list(old.image_paths))
        state.turns[turn] = fresh
        async for update in answer(state, fresh, Params.parse(choice), request):
            yield update

    async def undo(state: ChatSession, data: gr.UndoData) -> dict:
        turn = turn_of(state, data.index, "user")
        if turn is None:
            return {chatbot: chat_messages(state)}
        old = await cut_at(service, state, turn)
        del state.turns[turn:]
        return {chatbot: chat_messages(state), textbox: {"text": old.user_text, "files": old.image_paths}}

    named = edits.side_inputs
    # streamed like submit: values made by `wire`, so Gradio's postprocessing is off (demo/wire.py)
    chatbot.retry(retry, [edits.session], edits.busy, inputs_kwargs=named, api_visibility="private",
                  concurrency_limit=None, postprocess=False)  # fmt: skip
    chatbot.edit(edit, [edits.session], edits.busy, inputs_kwargs=named, api_visibility="private",
                 concurrency_limit=None, postprocess=False)  # fmt: skip
    chatbot.undo(undo, [edits.session], [chatbot, textbox], api_visibility="private")
