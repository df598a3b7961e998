"""The Gradio page: tabs, deep links (`?share=`, `?model=`, `?compare=a,b`, `?tab=`) and resume after reload."""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr
from pydantic import ValidationError

from demo.api import build_api
from demo.chat import ChatService
from demo.hosting import proxy_trust, public_url, sign_in_offered, storage_note
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
{TIMELINE_CSS}"""
TABS = ("chat", "compare", "battle", "leaderboard")


def build_app(service: ChatService, models: list[ModelEntry], default_pair: tuple[str, str]) -> gr.Blocks:
    settings = service.client.settings
    with gr.Blocks(title="Rio 3.5 Open — demo") as demo:
        gr.Markdown(
            "# Rio 3.5 Open 397B\nOpen model by the City of Rio de Janeiro (MIT). "
            "Thinking is shown collapsed; *dimmed* thinking marks SwiReasoning's latent steps."
        )
        if sign_in_offered(settings):  # signed-in visitors get their own, larger quota
            with gr.Row():  # left, clear of the Space header Gradio draws top right on *.hf.space
                gr.LoginButton(elem_id="login", size="sm", scale=0, min_width=220)
        resume = gr.BrowserState(None, storage_key="rio-resume", secret=settings.browser_secret)
        knobs = Knobs.build()
        with gr.Tabs(elem_id="tabs") as tabs:
            page = Page({e.key: e for e in models}, default_pair[0], default_pair, knobs, tabs, resume,
                        public_url(settings), proxy_trust(settings))  # fmt: skip
            with gr.Tab("Chat", id="chat"):
                chat = build_chat(service, page)
            with gr.Tab("Compare", id="compare"):
                compare = build_compare(service, page)
            with gr.Tab("Battle", id="battle"):
                build_battle(service, page)
            with gr.Tab("Leaderboard", id="leaderboard"):
                build_leaderboard(service, demo)
            shared = build_shared(service, page)
        gr.Markdown(f"<sub>{storage_note(settings)}</sub>", elem_id="storage-note")
        wire_continue(service, page, chat, compare, shared)
        wire_load(demo, service, page, chat, compare, shared)
        build_api(service, page)
    return demo


def wire_continue(service: ChatService, page: Page, chat: ChatTab, compare: CompareTab, shared: SharedTab) -> None:
    """ "Continue this chat": the shared conversation becomes a new, editable chat or comparison."""
    outputs = [page.tabs, chat.session, chat.chatbot, chat.model, compare.sessions, *compare.panes, compare.summary,
               *compare.models]  # fmt: skip

    async def go(snapshot: Snapshot | None) -> list:
        if snapshot is None:
            return [gr.Tabs()] + [gr.skip()] * (len(outputs) - 1)
        sessions = await service.continue_share(snapshot)
        if snapshot.kind == "chat":
            s = sessions[0]
            return [gr.Tabs(selected="chat"), s, chat_messages(s), snapshot.sides[0].model,
                    *[gr.skip()] * (len(outputs) - 4)]  # fmt: skip
        return [gr.Tabs(selected="compare"), gr.skip(), gr.skip(), gr.skip(), sessions, *render(page, sessions),
                *(side.model for side in snapshot.sides)]  # fmt: skip

    # UI-only (it switches tabs and fills widgets): callable, but not on the API page
    shared.resume.click(go, [shared.snapshot], outputs, api_name="continue_share", api_visibility="undocumented")


def wire_load(demo: gr.Blocks, service: ChatService, page: Page, chat: ChatTab, compare: CompareTab,
              shared: SharedTab) -> None:  # fmt: skip
    """Deep links first, then (if the browser holds one) a conversation whose jobs were still running."""
    link_outputs = [page.tabs, chat.model, *compare.models, *compare.modes, shared.share_id, *shared.view]
    resume_outputs = [chat.session, chat.chatbot, compare.sessions, *compare.panes, compare.summary, page.resume]

    async def load(saved: Any, request: gr.Request):
        q = request.query_params if request is not None else {}
        updates = await deep_link(service, page, chat, compare, shared, dict(q))
        sessions, kind = restore(saved, str(service.upload_dir))
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
    demo.load(chat.pick_model, [chat.model], [chat.banner, chat.mode], api_visibility="private")

    async def mark_down() -> list:
        """Model pickers label a model its workers report as down."""
        choices = []
        for e in page.models.values():
            down = await service.down_detail(e.key)
            choices.append((e.label + (" — down" if down is not None else ""), e.key))
        return [gr.Dropdown(choices=choices)] * 3

    # UI-only: programs read `/models` (demo/api.py)
    demo.load(mark_down, None, [chat.model, *compare.models], api_name="model_choices", api_visibility="undocumented")


async def deep_link(service: ChatService, page: Page, chat: ChatTab, compare: CompareTab, shared: SharedTab,
                    q: dict[str, str]) -> dict:  # fmt: skip
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
        out.update(zip(shared.view, await show_snapshot(service, q["share"]), strict=True))
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
