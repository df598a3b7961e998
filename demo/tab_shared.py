"""The Shared tab: a read-only view of a share link, and "Continue this chat"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import gradio as gr

from demo.chat import ChatService
from demo.feedback import build_feedback_box, wire_feedback
from demo.i18n import I18N, say, text
from demo.render import chat_messages, diff_summary
from demo.session import ChatSession
from demo.timeline import thinking_side_by_side
from demo.widgets import Page, chat_pane
from worker.jobs import RioError, SideRecord, Snapshot, error_event


@dataclass
class SharedTab:
    snapshot: gr.State
    share_id: gr.Textbox
    view: list  # the components `show` fills, in order
    resume: gr.Button


def shown_labels(page: Page, s: Snapshot, lang: str) -> list[str]:
    """The sides' names in `lang` (a share stores them in English); the stored name for a model this
    deployment does not serve."""
    if s.kind == "chat":
        return [page.label(side.model, lang) if side.model in page.models else side.label for side in s.sides]
    return [page.side(side.model, side.reasoning.mode, lang) if side.model in page.models else side.label
            for side in s.sides]  # fmt: skip


def describe(s: Snapshot, labels: list[str], lang: str) -> str:
    when = dt.datetime.fromtimestamp(s.created, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    names = text("shared.vs", lang).join(f"**{label}**" for label in labels)
    voted = text("shared.voted", lang, vote=text(f"shared.vote_{s.vote}", lang)) if s.vote else ""
    return (f"### {text(f'shared.kind_{s.kind}', lang)} {names}\n{text('shared.when', lang, when=when)}" + voted
            + text("shared.read_only", lang))  # fmt: skip


def shared_sides(service: ChatService, snapshot: Snapshot | None) -> list[tuple[ChatSession, SideRecord | None]]:
    if snapshot is None:
        return []
    return [(ChatSession.from_record(side, str(service.upload_dir)), side) for side in snapshot.sides]


def build_shared(service: ChatService, page: Page) -> SharedTab:
    with gr.Tab(I18N("tab.shared"), id="shared"):
        snapshot = gr.State(None)
        share_id = gr.Textbox(label=I18N("shared.open"), placeholder=I18N("shared.placeholder"), elem_id="share-id")
        info = gr.Markdown(elem_id="shared-info")
        with gr.Row():
            pane_a = chat_pane("", "shared-a")
            pane_b = chat_pane("", "shared-b")
        summary = gr.Markdown(elem_id="shared-summary")
        resume = gr.Button(I18N("shared.continue"), variant="primary", elem_id="continue", visible=False)
        feedback = build_feedback_box("shared")
    view = [info, pane_a, pane_b, summary, resume, snapshot]

    async def show(raw_id: str, lang: str | None, request: gr.Request) -> list:
        return await show_snapshot(service, page, raw_id, page.lang_for(lang, request))

    # UI-only (it fills the view's widgets): programs read `/shared` (demo/api.py)
    share_id.submit(show, [share_id, page.lang], view, api_name="open_share", api_visibility="undocumented")
    wire_feedback(service, page, feedback, [pane_a, pane_b], snapshot, lambda s: shared_sides(service, s), "shared",
                  share_id)  # fmt: skip
    return SharedTab(snapshot, share_id, view, resume)


async def show_snapshot(service: ChatService, page: Page, raw_id: str, lang: str) -> list:
    """The view's values for a share id: description, panes, difference line, Continue button, snapshot."""
    share_id = (raw_id or "").strip().rsplit("share=", 1)[-1].split("&")[0]
    try:
        s = await service.open_share(share_id)
    except RioError as exc:
        return [f"⚠️ {say(error_event(exc), lang)}", gr.Chatbot(visible=False), gr.Chatbot(visible=False), "",
                gr.Button(visible=False), None]  # fmt: skip
    sessions = [ChatSession.from_record(side, str(service.upload_dir)) for side in s.sides]
    for x in sessions:
        x.lang = lang
    labels = shown_labels(page, s, lang)
    panes = [gr.Chatbot(value=chat_messages(x), label=label, visible=True)
             for x, label in zip(sessions, labels, strict=True)]  # fmt: skip
    if len(panes) == 1:
        panes.append(gr.Chatbot(visible=False))
    diff = ""
    if len(sessions) == 2 and all(x.turns for x in sessions):
        la, lb = labels
        a, b = sessions[0].turns[-1], sessions[1].turns[-1]
        side_by_side = thinking_side_by_side(la, a.stats, lb, b.stats, lang)
        diff = "\n\n".join(x for x in (diff_summary(la, a, lb, b, lang), side_by_side) if x)
    return [describe(s, labels, lang), *panes, diff, gr.Button(visible=True), s]
