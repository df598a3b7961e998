"""The Chat tab: one model, multi-turn, streaming, Stop, Share."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from demo.chat import ChatService, UnderWay
from demo.chat_edits import ChatEdits, wire_edits
from demo.examples import CHAT_EXAMPLES, picked
from demo.feedback import FEEDBACK_OPTIONS, build_feedback_box, wire_feedback
from demo.i18n import I18N, text
from demo.page_js import LOCK_JS, UNLOCK_JS
from demo.render import chat_messages
from demo.session import ChatSession, Params, Turn, snapshot_of
from demo.widgets import LATEX, Page, mode_choices, prompt_box, rejected_turn, resume_state, share_reply, show_link
from demo.wire import unwire, unwire_value, wire
from worker.jobs import RioError, SideRecord


@dataclass
class ChatTab:
    session: gr.State
    chatbot: gr.Chatbot
    model: gr.Dropdown
    mode: gr.Radio
    banner: gr.Markdown
    pick_model: Callable[[str, str | None, gr.Request], Awaitable[dict]]  # banner and default mode for a model
    textbox: gr.MultimodalTextbox


def banner_text(page: Page, key: str, lang: str) -> str:
    e = page.models.get(key)
    return text("chat.random_note", lang, label=page.label(key, lang)) if e and e.random_weights else ""


def chat_record(page: Page, session: ChatSession) -> SideRecord | None:
    return session.record(page.label(session.params.model)) if session.params else None


def build_chat(service: ChatService, page: Page) -> ChatTab:
    models = list(page.models.values())
    default = page.models[page.default_model]
    banner = gr.Markdown("", elem_id="rio-banner")  # filled on load, in the visitor's language
    session = gr.State(ChatSession())
    with gr.Row(elem_id="chat-row"):
        with gr.Column(scale=4, elem_id="chat-main"):
            chatbot = gr.Chatbot(label=I18N("chat.label"), height=520, elem_id="chat", buttons=["copy"],
                                 feedback_options=FEEDBACK_OPTIONS, editable="user",
                                 latex_delimiters=LATEX)  # fmt: skip
            textbox = prompt_box("prompt")
            with gr.Row(elem_id="chat-buttons"):
                stop = gr.Button(I18N("chat.stop"), visible=False, variant="stop", elem_id="stop")
                clear = gr.Button(I18N("chat.new"), elem_id="new-chat")
                share = gr.Button(I18N("chat.share"), elem_id="share-chat")
            link = gr.Textbox(label=I18N("chat.share_link"), visible=False, buttons=["copy"], elem_id="share-link-chat")
            feedback = build_feedback_box("chat")
        with gr.Column(scale=1, elem_id="chat-side"):
            model = gr.Dropdown(
                choices=[(e.label, e.key) for e in models], value=default.key, label=I18N("chat.model"), elem_id="model"
            )
            mode = gr.Radio(
                mode_choices(),
                value=default.default_reasoning,
                label=I18N("chat.reasoning"),
                info=I18N("chat.reasoning_info"),
                elem_id="mode",
            )
    busy = [chatbot, textbox, stop, page.resume]  # the session State is changed in place (demo/wire.py)
    choice = page.knobs.inputs(model=model, reasoning=mode)  # a request's named inputs: model, mode, knobs

    async def submit(message: dict, state: ChatSession, lang: str | None, request: gr.Request, **named: Any):
        """Ask `model` in this session's conversation (`reasoning` and the knobs set how); streams the
        conversation as chat messages, thinking collapsed, the last answer's stats under it."""
        received = time.time()
        message, p = unwire_value(textbox, message), Params.parse(unwire(choice, named))
        state.lang = page.lang_for(lang, request)
        text = message.get("text") or ""
        try:
            turn = await service.new_turn(text, message.get("files") or [], page.visitor(request))
        except RioError as exc:
            state.turns.append(rejected_turn(text, exc))  # the message stays in the box, unlocked (LOCK_JS)
            yield wire({chatbot: chat_messages(state), **unlocked()})
            return
        turn.hops["received"] = received
        state.turns.append(turn)
        async for update in answer(state, turn, p, request, locked=True):
            yield update

    def unlocked() -> dict:
        return {textbox: gr.MultimodalTextbox(interactive=True), stop: gr.Button(visible=False), page.resume: None}

    async def answer(state: ChatSession, turn: Turn, p: Params, request: gr.Request, locked: bool = False):
        """Run the session's last turn and stream it into the pane (submit, retry and edit alike). A turn
        replaced meanwhile (retried or edited) stops driving the page: only the chat pane follows.
        `locked`: the page locked the box and showed Stop itself (LOCK_JS), else the opening update does."""
        # the box emptied either way; components built only where the page did not lock it itself
        opening = (
            {textbox: None, stop: stop.value}
            if locked
            else {textbox: gr.MultimodalTextbox(value=None, interactive=False), stop: gr.Button(visible=True)}
        )
        shown_first = wire({chatbot: chat_messages(state), **opening, page.resume: None})  # all outputs: HELD_VALUES
        runs = UnderWay(service.run_sides([(state, p)], page.visitor(request)))  # published while that renders
        try:
            yield shown_first
            held: dict = {textbox: None, stop: stop.value, page.resume: None}  # see widgets.HELD_VALUES
            async for _ in runs:
                if held[page.resume] is None and turn.job_id:
                    held[page.resume] = resume_state("chat", [state], [page.label(p.model)])
                shown = {chatbot: chat_messages(state)}
                update = wire({**held, **shown} if state.holds(turn) else shown)
                service.hops.first_shown(turn, request.session_hash or "")
                yield update
        finally:
            await runs.aclose()
        if state.holds(turn):  # the end renders here only (see coalesce), the first token with it if it came last
            update = wire({chatbot: chat_messages(state), **unlocked()})
            service.hops.first_shown(turn, request.session_hash or "")
            yield update

    async def stop_job(state: ChatSession) -> None:
        await service.stop(state)

    async def share_chat(state: ChatSession, lang: str | None, request: gr.Request) -> str:
        """A link to this session's conversation, read-only for whoever opens it (or why not yet)."""
        lang = page.lang_for(lang, request)
        if not state.turns or state.params is None:
            return text("chat.nothing_to_share", lang)
        if state.running:
            return text("chat.wait_to_share", lang)
        snapshot = snapshot_of("chat", [state], [page.label(state.params.model)])
        return await share_reply(service, page, request, snapshot, lang)

    async def pick_model(key: str, lang: str | None, request: gr.Request) -> dict:
        lang = page.lang_for(lang, request)
        note = "\n\n".join(t for t in (banner_text(page, key, lang), await service.down_note(key, lang)) if t)
        e = page.models.get(key)
        return {banner: note, mode: gr.Radio(value=e.default_reasoning if e else "thinking")}

    sent = [textbox, session, page.lang]
    # the lock first: the page runs a trigger's events in order, each stream to its end
    textbox.submit(None, None, [textbox, stop], js=LOCK_JS, api_visibility="private")
    textbox.submit(submit, sent, busy, inputs_kwargs=choice, api_name="chat", concurrency_limit=None,
                   preprocess=False, postprocess=False).failure(
        None, None, [textbox, stop], js=UNLOCK_JS, api_visibility="private"
    )  # fmt: skip

    def take_example(evt: gr.SelectData, lang: str | None, request: gr.Request) -> dict:
        return {textbox: picked(CHAT_EXAMPLES, page.examples, evt, page.lang_for(lang, request))[1]}

    chatbot.example_select(None, None, [textbox, stop], js=LOCK_JS, api_visibility="private")
    chatbot.example_select(take_example, [page.lang], [textbox], api_visibility="private").then(
        submit, sent, busy, inputs_kwargs=choice, api_visibility="private", concurrency_limit=None,
        preprocess=False, postprocess=False,
    ).failure(None, None, [textbox, stop], js=UNLOCK_JS, api_visibility="private")  # fmt: skip
    stop.click(stop_job, [session], None, api_name="stop", concurrency_limit=None)
    clear.click(lambda: (ChatSession(), [], gr.Textbox(visible=False), None), None,
                [session, chatbot, link, page.resume], api_name="new_chat")  # fmt: skip
    share.click(share_chat, [session, page.lang], [link], api_name="share_chat").then(
        show_link, None, [link], api_visibility="private"
    )
    model.change(pick_model, [model, page.lang], [banner, mode], api_visibility="private")
    wire_edits(service, ChatEdits(chatbot, textbox, session, choice, busy), answer)
    wire_feedback(service, page, feedback, [chatbot], session, lambda s: [(s, chat_record(page, s))], "chat")
    return ChatTab(session, chatbot, model, mode, banner, pick_model, textbox)
