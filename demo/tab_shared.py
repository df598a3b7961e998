"""The Shared tab: a read-only view of a share link, and "Continue this chat"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import gradio as gr

from demo.chat import ChatService
from demo.feedback import build_feedback_box, wire_feedback
from demo.i18n import DEFAULT_LANG
from demo.render import chat_messages, diff_summary
from demo.session import ChatSession
from demo.timeline import thinking_side_by_side
from demo.widgets import Page, chat_pane
from worker.jobs import RioError, SideRecord, Snapshot


@dataclass
class SharedTab:
    snapshot: gr.State
    share_id: gr.Textbox
    view: list  # the components `show` fills, in order
    resume: gr.Button


def describe(s: Snapshot) -> str:
    when = dt.datetime.fromtimestamp(s.created, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    names = " vs ".join(f"**{side.label}**" for side in s.sides)
    vote = {"a": "A won", "b": "B won", "tie": "a tie", "both_bad": "both bad"}.get(s.vote or "", "")
    kind = {"chat": "Chat with", "compare": "Comparison of", "battle": "Blind battle between"}[s.kind]
    return f"### {kind} {names}\nShared {when}" + (f" · the voter called it {vote}" if vote else "") + " · read-only"


def shared_sides(service: ChatService, snapshot: Snapshot | None) -> list[tuple[ChatSession, SideRecord | None]]:
    if snapshot is None:
        return []
    return [(ChatSession.from_record(side, str(service.upload_dir)), side) for side in snapshot.sides]


def build_shared(service: ChatService, page: Page) -> SharedTab:
    with gr.Tab("Shared", id="shared"):
        snapshot = gr.State(None)
        share_id = gr.Textbox(label="Open a shared conversation", placeholder="paste its link or id, then Enter",
                              elem_id="share-id")  # fmt: skip
        info = gr.Markdown(elem_id="shared-info")
        with gr.Row():
            pane_a = chat_pane("", "shared-a")
            pane_b = chat_pane("", "shared-b")
        summary = gr.Markdown(elem_id="shared-summary")
        resume = gr.Button("Continue this chat", variant="primary", elem_id="continue", visible=False)
        feedback = build_feedback_box("shared")
    view = [info, pane_a, pane_b, summary, resume, snapshot]

    async def show(raw_id: str) -> list:
        return await show_snapshot(service, raw_id)

    # UI-only (it fills the view's widgets): programs read `/shared` (demo/api.py)
    share_id.submit(show, [share_id], view, api_name="open_share", api_visibility="undocumented")
    wire_feedback(service, page, feedback, [pane_a, pane_b], snapshot, lambda s: shared_sides(service, s), "shared",
                  share_id)  # fmt: skip
    return SharedTab(snapshot, share_id, view, resume)


async def show_snapshot(service: ChatService, raw_id: str) -> list:
    """The view's values for a share id: description, panes, difference line, Continue button, snapshot."""
    share_id = (raw_id or "").strip().rsplit("share=", 1)[-1].split("&")[0]
    try:
        s = await service.open_share(share_id)
    except RioError as exc:
        return [f"⚠️ {exc.message}", gr.Chatbot(visible=False), gr.Chatbot(visible=False), "",
                gr.Button(visible=False), None]  # fmt: skip
    sessions = [ChatSession.from_record(side, str(service.upload_dir)) for side in s.sides]
    panes = [gr.Chatbot(value=chat_messages(x), label=side.label, visible=True)
             for x, side in zip(sessions, s.sides, strict=True)]  # fmt: skip
    if len(panes) == 1:
        panes.append(gr.Chatbot(visible=False))
    diff = ""
    if len(sessions) == 2 and all(x.turns for x in sessions):
        la, lb = (side.label for side in s.sides)
        a, b = sessions[0].turns[-1], sessions[1].turns[-1]
        side_by_side = thinking_side_by_side(la, a.stats, lb, b.stats, DEFAULT_LANG)
        diff = "\n\n".join(x for x in (diff_summary(la, a, lb, b), side_by_side) if x)
    return [describe(s), *panes, diff, gr.Button(visible=True), s]
