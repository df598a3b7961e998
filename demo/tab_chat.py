"""The Chat tab: one model, multi-turn, streaming, Stop, Share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import gradio as gr

from demo.chat import ChatService
from demo.examples import CHAT_EXAMPLES, picked
from demo.i18n import I18N, text
from demo.render import chat_messages
from demo.session import ChatSession, snapshot_of
from demo.widgets import Page, chat_pane, mode_choices, params, prompt_box, rejected_turn, resume_state, share_reply
from demo.wire import wire
from worker.jobs import RioError


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


def build_chat(service: ChatService, page: Page) -> ChatTab:
    models = list(page.models.values())
    default = page.models[page.default_model]
    banner = gr.Markdown("", elem_id="rio-banner")  # filled on load, in the visitor's language
    session = gr.State(ChatSession())
    with gr.Row(elem_id="chat-row"):
        with gr.Column(scale=4, elem_id="chat-main"):
            chatbot = chat_pane(I18N("chat.label"), "chat", height=520)
            textbox = prompt_box("prompt")
            with gr.Row(elem_id="chat-buttons"):
                stop = gr.Button(I18N("chat.stop"), visible=False, variant="stop", elem_id="stop")
                clear = gr.Button(I18N("chat.new"), elem_id="new-chat")
                share = gr.Button(I18N("chat.share"), elem_id="share-chat")
            link = gr.Textbox(label=I18N("chat.share_link"), visible=False, buttons=["copy"], elem_id="share-link-chat")
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

    async def submit(message, state: ChatSession, model_, mode_, temperature, top_p, top_k, max_tokens, seed,
                     switches, alpha0, window, lang: str | None, request: gr.Request):  # fmt: skip
        p = params(model_, mode_, (temperature, top_p, top_k, max_tokens, seed, switches, alpha0, window))
        state.lang = page.lang_for(lang, request)
        text = message.get("text") or ""
        try:
            turn = await service.new_turn(text, message.get("files") or [], page.visitor(request))
        except RioError as exc:
            state.turns.append(rejected_turn(text, exc))
            yield wire({chatbot: chat_messages(state)})
            return
        state.turns.append(turn)
        yield wire({chatbot: chat_messages(state), textbox: gr.MultimodalTextbox(value=None, interactive=False),
                    stop: gr.Button(visible=True)})  # fmt: skip
        held: dict = {textbox: None, stop: stop.value, page.resume: None}  # see widgets.HELD_VALUES
        async for _ in service.run_sides([(state, p)], page.visitor(request)):
            if held[page.resume] is None and turn.job_id:
                held[page.resume] = resume_state("chat", [state], [page.label(p.model)])
            yield wire({**held, chatbot: chat_messages(state)})
        yield wire({chatbot: chat_messages(state), textbox: gr.MultimodalTextbox(interactive=True),
                    stop: gr.Button(visible=False), page.resume: None})  # fmt: skip

    async def stop_job(state: ChatSession) -> None:
        await service.stop(state)

    async def share_chat(state: ChatSession, lang: str | None, request: gr.Request) -> dict:
        lang = page.lang_for(lang, request)
        if not state.turns or state.params is None:
            return {link: gr.Textbox(value=text("chat.nothing_to_share", lang), visible=True)}
        if state.running:
            return {link: gr.Textbox(value=text("chat.wait_to_share", lang), visible=True)}
        snapshot = snapshot_of("chat", [state], [page.label(state.params.model)])
        return {link: gr.Textbox(value=await share_reply(service, page, request, snapshot, lang), visible=True)}

    async def pick_model(key: str, lang: str | None, request: gr.Request) -> dict:
        lang = page.lang_for(lang, request)
        note = "\n\n".join(t for t in (banner_text(page, key, lang), await service.down_note(key, lang)) if t)
        e = page.models.get(key)
        return {banner: note, mode: gr.Radio(value=e.default_reasoning if e else "thinking")}

    sent = [textbox, session, model, mode, *page.knobs.components, page.lang]
    textbox.submit(submit, sent, busy, api_name="chat", concurrency_limit=None, postprocess=False)

    def take_example(evt: gr.SelectData, lang: str | None, request: gr.Request) -> dict:
        return {textbox: picked(CHAT_EXAMPLES, page.examples, evt, page.lang_for(lang, request))[1]}

    chatbot.example_select(take_example, [page.lang], [textbox], api_visibility="private").then(
        submit, sent, busy, api_visibility="private", concurrency_limit=None, postprocess=False
    )
    stop.click(stop_job, [session], None, api_name="stop", concurrency_limit=None)
    clear.click(lambda: (ChatSession(), [], gr.Textbox(visible=False), None), None,
                [session, chatbot, link, page.resume], api_name="new_chat")  # fmt: skip
    share.click(share_chat, [session, page.lang], [link], api_name="share_chat")
    model.change(pick_model, [model, page.lang], [banner, mode], api_visibility="private")
    return ChatTab(session, chatbot, model, mode, banner, pick_model, textbox)
