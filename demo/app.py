"""The Gradio page: tabs, deep links (`?share=`, `?model=`, `?compare=a,b`, `?tab=`) and resume after reload."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr
from pydantic import ValidationError

from demo.api import build_api
from demo.chat import ChatService
from demo.example_images import write_example_images
from demo.examples import CHAT_EXAMPLES, COMPARE_EXAMPLES, shown
from demo.hosting import examples_dir, proxy_trust, public_url, sign_in_offered, storage_note
from demo.i18n import I18N, LANGS, text
from demo.notice import DataNotice, build_notice, on_load, wire_notice
from demo.page_js import SWITCH_JS
from demo.render import LATENT_CLASS, chat_messages
from demo.session import ChatSession
from demo.tab_battle import build_battle, build_leaderboard
from demo.tab_chat import ChatTab, build_chat
from demo.tab_compare import CompareTab, build_compare, render
from demo.tab_shared import SharedTab, build_shared, show_snapshot
from demo.timeline import CSS as TIMELINE_CSS
from demo.widgets import Knobs, Page
from worker.jobs import ModelEntry, Snapshot

log = logging.getLogger(__name__)
CSS = f"""
.{LATENT_CLASS} {{ opacity: 0.5; font-style: italic; text-decoration: underline dotted; }}
#rio-banner {{ border-left: 4px solid #e8a400; padding-left: 8px; }}
#lang-switch {{ flex-grow: 0; min-width: 220px; }}
:has(> #lang-switch) {{ flex-grow: 0 !important; background: none !important; border: none !important; }}
#data-notice {{ position: fixed; left: 0; right: 0; bottom: 0; z-index: 1000; max-height: 85vh; overflow-y: auto;
  padding: 16px 24px; background: var(--background-fill-primary); box-shadow: 0 -4px 24px rgba(0, 0, 0, 0.25); }}
#data-link {{ background: none; border: none; box-shadow: none; text-decoration: underline; font-weight: normal; }}
@media (max-width: 640px) {{  /* a phone: the conversation, then the prompt, then the model choice */
  #intro {{ flex: 1 1 0 !important; min-width: 0 !important; }}
  #intro h1 {{ font-size: 1.15rem; margin: 0; }}
  #intro p {{ display: none; }}
  #lang-switch {{ flex: 0 0 auto !important; min-width: 0 !important; padding: 2px 6px; }}
  #lang-switch label {{ padding: 2px 6px; }}
  #lang-switch [data-testid="block-info"], #compare-preset [data-testid="block-info"] {{ display: none; }}
  #parameters {{ padding-top: 4px; padding-bottom: 4px; }}
  #lang-switch .wrap {{ gap: 4px; }}
  #chat {{ height: 30vh !important; min-height: 160px; }}
  #compare-a, #compare-b {{ height: 21vh !important; min-height: 140px; }}
  #chat-row {{ flex-direction: column; }}
  #chat-main {{ display: contents; }}  /* its parts take their places among the side column's */
  #chat-main > * {{ order: 4; }}
  #chat-main > :is(#chat, :has(#chat)) {{ order: 1; }}
  #chat-main > :is(#prompt, :has(#prompt)) {{ order: 2; }}
  #chat-side {{ order: 3; }}
  #chat-buttons {{ flex-wrap: nowrap; }}
  #compare-panes {{ order: 1; flex-wrap: nowrap; gap: 4px; }}
  #compare-panes > * {{ min-width: 0 !important; }}
  :has(> #compare-choice) > * {{ order: 5; }}
  :is(#compare-summary, :has(> #compare-summary)) {{ order: 2; }}
  :is(#compare-prompt, :has(> #compare-prompt)) {{ order: 3; }}
  #compare-panes {{ order: 1; }}
  #compare-choice {{ order: 4; flex-wrap: wrap; gap: 4px; }}
  #compare-choice > :is(#compare-preset, :has(#compare-preset)) {{ flex: 1 1 100%; }}
  #compare-choice > .column {{ flex: 1 1 40%; min-width: 0 !important; }}
  #compare-choice label {{ padding: 2px 6px; }}
  #compare-choice .wrap {{ gap: 2px; }}
}}
{TIMELINE_CSS}"""
LANG_NAMES = {"pt": "Português", "en": "English"}
TABS = ("chat", "compare", "battle", "leaderboard")


@dataclass
class LanguageUI:
    switch: gr.Radio
    storage: gr.Markdown  # the footer: where share links live
    notice: DataNotice  # the data-use notice, said in the page's language


def build_app(service: ChatService, models: list[ModelEntry], default_pair: tuple[str, str]) -> gr.Blocks:
    settings = service.client.settings
    with gr.Blocks(title="Rio 3.5 Open") as demo:
        with gr.Row(equal_height=True):
            gr.Markdown(I18N("page.intro"), elem_id="intro")
            switch = gr.Radio([(LANG_NAMES[x], x) for x in LANGS], value=None, label=I18N("page.language"),
                              elem_id="lang-switch")  # fmt: skip
        if sign_in_offered(settings):  # signed-in visitors get their own, larger quota
            with gr.Row():  # left, clear of the Space header Gradio draws top right on *.hf.space
                gr.LoginButton(elem_id="login", size="sm", scale=0, min_width=220)
        resume = gr.BrowserState(None, storage_key="rio-resume", secret=settings.browser_secret)
        lang = gr.State(None)
        knobs = Knobs.build()
        with gr.Tabs(elem_id="tabs") as tabs:
            page = Page({e.key: e for e in models}, default_pair[0], default_pair, knobs, tabs, resume,
                        public_url(settings), proxy_trust(settings), lang,
                        write_example_images(examples_dir(settings)))  # fmt: skip
            with gr.Tab(I18N("tab.chat"), id="chat"):
                chat = build_chat(service, page)
            with gr.Tab(I18N("tab.compare"), id="compare"):
                compare = build_compare(service, page)
            with gr.Tab(I18N("tab.battle"), id="battle"):
                build_battle(service, page)
            with gr.Tab(I18N("tab.leaderboard"), id="leaderboard"):
                build_leaderboard(service, demo, page)
            shared = build_shared(service, page)
        with gr.Row(elem_id="footer-row"):
            storage = gr.Markdown(elem_id="storage-note")
            data_link = gr.Button(I18N("page.data_link"), size="sm", elem_id="data-link", scale=0, min_width=200)
        notice = build_notice(settings)
        wire_notice(notice, data_link)
        wire_continue(service, page, chat, compare, shared)
        wire_load(demo, service, page, chat, compare, shared)
        wire_language(service, demo, page, LanguageUI(switch, storage, notice), chat, compare)
        build_api(service, page)
    return demo


def wire_language(service: ChatService, demo: gr.Blocks, page: Page, ui: LanguageUI, chat: ChatTab,
                  compare: CompareTab) -> None:  # fmt: skip
    """The page's language is settled before Gradio starts (demo/page_js.py): `?lang=`, else the switch's
    remembered choice, else the browser's. On load the switch shows it and the footer is said in it; a
    click on the switch reloads the page in the other language."""
    settings = service.client.settings

    def start(accepted: str | None, request: gr.Request) -> dict:
        lang = page.lang_for(None, request)
        return {page.lang: lang, ui.switch: lang, ui.storage: f"<sub>{storage_note(settings, lang)}</sub>",
                chat.chatbot: gr.Chatbot(examples=shown(CHAT_EXAMPLES, page.examples, lang)),
                compare.panes[0]: gr.Chatbot(examples=shown(COMPARE_EXAMPLES, page.examples, lang)),
                **on_load(ui.notice, settings, accepted, lang)}  # fmt: skip

    outputs = [page.lang, ui.switch, ui.storage, chat.chatbot, compare.panes[0], ui.notice.box, ui.notice.body]
    demo.load(start, [ui.notice.accepted], outputs, api_visibility="private")
    ui.switch.input(None, [ui.switch], None, js=SWITCH_JS)


def wire_continue(service: ChatService, page: Page, chat: ChatTab, compare: CompareTab, shared: SharedTab) -> None:
    """ "Continue this chat": the shared conversation becomes a new, editable chat or comparison."""
    outputs = [page.tabs, chat.session, chat.chatbot, chat.model, compare.sessions, *compare.panes, compare.summary,
               *compare.models]  # fmt: skip

    async def go(snapshot: Snapshot | None, lang: str | None, request: gr.Request) -> list:
        if snapshot is None:
            return [gr.Tabs()] + [gr.skip()] * (len(outputs) - 1)
        sessions = await service.continue_share(snapshot)
        for s in sessions:
            s.lang = page.lang_for(lang, request)
        if snapshot.kind == "chat":
            s = sessions[0]
            return [gr.Tabs(selected="chat"), s, chat_messages(s), snapshot.sides[0].model,
                    *[gr.skip()] * (len(outputs) - 4)]  # fmt: skip
        return [gr.Tabs(selected="compare"), gr.skip(), gr.skip(), gr.skip(), sessions, *render(page, sessions),
                *(side.model for side in snapshot.sides)]  # fmt: skip

    # UI-only (it switches tabs and fills widgets): callable, but not on the API page
    shared.resume.click(go, [shared.snapshot, page.lang], outputs, api_name="continue_share",
                        api_visibility="undocumented")  # fmt: skip


def wire_load(demo: gr.Blocks, service: ChatService, page: Page, chat: ChatTab, compare: CompareTab,
              shared: SharedTab) -> None:  # fmt: skip
    """Deep links first, then (if the browser holds one) a conversation whose jobs were still running."""
    link_outputs = [page.tabs, chat.model, chat.banner, chat.mode, *compare.models, *compare.modes, shared.share_id,
                    *shared.view]  # fmt: skip
    resume_outputs = [chat.session, chat.chatbot, compare.sessions, *compare.panes, compare.summary, page.resume]

    async def load(saved: Any, request: gr.Request):
        q = request.query_params if request is not None else {}
        lang = page.lang_for(None, request)
        updates = await deep_link(service, page, chat, compare, shared, dict(q), lang)
        # the banner of the model the page opens on (`?model=`'s, else the default)
        updates.update(await chat.pick_model(updates.get(chat.model, page.default_model), lang, request))
        sessions, kind = restore(saved, str(service.upload_dir))
        for s in sessions:
            s.lang = lang
        if not sessions or not agrees(dict(q), kind, sessions):
            # A deep link wins over a conversation the browser kept (a reload of the same link does not
            # conflict with it). Never an empty dict: Gradio reads `{}` as one positional value and
            # fails the event ("didn't return enough output values").
            yield {**updates, page.resume: None}
            return
        if updates:
            yield updates
        show = {page.tabs: gr.Tabs(selected=kind)}
        async for _ in service.resume(sessions):
            yield {**show, **render_resumed(chat, compare, page, kind, sessions)}
            show = {}
        yield {**render_resumed(chat, compare, page, kind, sessions), page.resume: None}

    demo.load(load, [page.resume], list(dict.fromkeys(link_outputs + resume_outputs)), api_visibility="private")

    async def mark_down(lang: str | None, request: gr.Request) -> list:
        """Model pickers label a model its workers report as down."""
        lang = page.lang_for(lang, request)
        choices = []
        for e in page.models.values():
            down = await service.down_detail(e.key)
            label = page.label(e.key, lang)
            choices.append((label if down is None else text("chat.down_choice", lang, label=label), e.key))
        return [gr.Dropdown(choices=choices)] * 3

    # UI-only: programs read `/models` (demo/api.py)
    demo.load(mark_down, [page.lang], [chat.model, *compare.models], api_name="model_choices",
              api_visibility="undocumented")  # fmt: skip


async def deep_link(service: ChatService, page: Page, chat: ChatTab, compare: CompareTab, shared: SharedTab,
                    q: dict[str, str], lang: str) -> dict:  # fmt: skip
    out: dict = {}
    tab = q.get("tab") if q.get("tab") in TABS else None
    if q.get("model") in page.models:
        out[chat.model] = q["model"]
        tab = tab or "chat"
    sides = [k for k in (q.get("compare") or "").split(",") if k]
    if len(sides) == 2 and all(k in page.models for k in sides):
        for dropdown, radio, key in zip(compare.models, compare.modes, sides, strict=True):
            out[dropdown], out[radio] = key, page.models[key].default_reasoning
        tab = tab or "compare"
    if q.get("share") is not None:
        out[shared.share_id] = q["share"]
        out.update(zip(shared.view, await show_snapshot(service, page, q["share"], lang), strict=True))
        tab = "shared"
    if tab:
        out[page.tabs] = gr.Tabs(selected=tab)
    return out


def agrees(q: dict[str, str], kind: str, sessions: list[ChatSession]) -> bool:
    """Whether a deep link asks for the conversation the browser kept (a reload), or for something else."""
    models = [s.params.model if s.params else "" for s in sessions]
    wanted = [k for k in (q.get("compare") or "").split(",") if k]
    return not (
        "share" in q
        or q.get("tab") not in (None, kind)
        or (q.get("model") and [q["model"]] != models)
        or (wanted and wanted != models)
    )


def restore(saved: Any, image_dir: str) -> tuple[list[ChatSession], str]:
    """The sessions the browser kept while their jobs ran, or none."""
    if not isinstance(saved, dict) or saved.get("kind") not in ("chat", "compare"):
        return [], ""
    try:
        snapshot = Snapshot.model_validate(saved.get("snapshot"))
    except ValidationError:
        log.info("ignoring an unreadable resume state")
        return [], ""
    return [ChatSession.from_record(side, image_dir) for side in snapshot.sides], saved["kind"]


def render_resumed(chat: ChatTab, compare: CompareTab, page: Page, kind: str, sessions: list[ChatSession]) -> dict:
    if kind == "chat":
        return {chat.session: sessions[0], chat.chatbot: chat_messages(sessions[0])}
    return {compare.sessions: sessions, **dict(zip([*compare.panes, compare.summary], render(page, sessions),
                                                   strict=True))}  # fmt: skip
