"""Feedback on answers: 👍/👎 on any answer (the Chatbot's own thumbs, its `.like` event), then an optional
reason and comment; kept with the conversation it rates (`worker.store.feedback`) in chat, compare and
shared views. The rating is kept at the click; "Send" adds the reason and comment to the same record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from demo.chat import ChatService, redis_down_is_unavailable
from demo.i18n import CATALOG, I18N, text
from demo.render import message_turns
from demo.session import ChatSession
from demo.widgets import Page
from worker.jobs import REASONS, Feedback, Rating, RioError, Settings, SideRecord

FEEDBACK_OPTIONS = ("Like", "Dislike")  # Gradio draws exactly these two as thumbs


@dataclass(frozen=True)
class Target:
    """The answer a visitor rated: which side and turn, how, and the record that holds it."""

    side: int
    turn: int
    rating: Rating
    feedback_id: str | None = None


@dataclass
class FeedbackBox:
    target: gr.State
    details: gr.Column
    reason: gr.Dropdown
    comment: gr.Textbox
    send: gr.Button
    note: gr.Markdown


def build_feedback_box(prefix: str) -> FeedbackBox:
    """The reason-and-comment form shown once an answer is rated (hidden until then), its labels said in
    the page's language by Gradio's own i18n."""
    target = gr.State(None)
    note = gr.Markdown(elem_id=f"{prefix}-feedback-note")
    with gr.Column(visible=False, elem_id=f"{prefix}-feedback") as details:
        gr.Markdown(I18N("feedback.title"))
        with gr.Row():
            reason = gr.Dropdown([(I18N(f"feedback.reason.{r}"), r) for r in REASONS], value=None,
                                 label=I18N("feedback.reason"), elem_id=f"{prefix}-feedback-reason")  # fmt: skip
            comment = gr.Textbox(label=I18N("feedback.comment"), placeholder=I18N("feedback.comment_hint"),
                                 lines=1, max_lines=4, elem_id=f"{prefix}-feedback-comment")  # fmt: skip
        send = gr.Button(I18N("feedback.send"), size="sm", elem_id=f"{prefix}-feedback-send")
    return FeedbackBox(target, details, reason, comment, send, note)


def rating_of(liked: Any) -> Rating | None:
    """The Chatbot's `liked`: True (👍), False (👎); anything else is no rating."""
    return "up" if liked is True else "down" if liked is False else None


def rated_turn(session: ChatSession, message_index: Any) -> int | None:
    """The turn whose finished answer the message at `message_index` shows; None for anything else."""
    shown = message_turns(session)
    if not isinstance(message_index, int) or not 0 <= message_index < len(shown):
        return None
    turn, role = shown[message_index]
    t = session.turns[turn]
    return turn if role == "assistant" and t.finish is not None and t.error is None else None


def refusal(exc: RioError, settings: Settings, comment: str, lang: str) -> str:
    """Why feedback was not kept, in the page's language (the worker's sentence where we have none)."""
    key = f"feedback.refused.{exc.code}"
    if key not in CATALOG:
        return f"⚠️ {exc.message}"
    limit = settings.feedback_per_hour if exc.code == "feedback_over_budget" else settings.feedback_max_chars
    return "⚠️ " + text(key, lang, limit=limit, length=len(comment))


async def keep(service: ChatService, conversation: SideRecord, target: Target, *, view: str, client: str,
               share_id: str | None = None, reason: str | None = None, comment: str = "") -> Feedback:  # fmt: skip
    """Store (or update) the feedback a target describes, with the conversation up to the rated answer."""
    rated = conversation.model_copy(update={"turns": conversation.turns[: target.turn + 1]})
    fields: dict[str, Any] = {"view": view, "side": target.side, "turn": target.turn, "rating": target.rating,
                              "reason": reason or None, "comment": (comment or "").strip(), "conversation": rated,
                              "job_id": rated.turns[-1].job_id, "share_id": share_id}  # fmt: skip
    if target.feedback_id:
        fields["id"] = target.feedback_id
    with redis_down_is_unavailable():
        return await service.client.feedback.put(Feedback(**fields), client=client)


Sides = Callable[[Any], list[tuple[ChatSession, SideRecord | None]]]  # a view's state -> its sides (session, record)


def wire_feedback(service: ChatService, page: Page, box: FeedbackBox, panes: list[gr.Chatbot], state: gr.State,
                  sides: Sides, view: str, share_id: gr.Textbox | None = None) -> None:  # fmt: skip
    """👍/👎 on each pane keeps a rating at once and opens the reason-and-comment form; Send adds them."""
    settings = service.client.settings
    extra = [share_id] if share_id is not None else []

    def on_like(side: int):
        async def like(value: Any, chosen: str | None, data: gr.LikeData, request: gr.Request,
                       shared_as: str | None = None) -> dict:  # fmt: skip
            # Gradio puts the event's data and the request at their parameters' places (by annotation)
            lang = page.lang_for(chosen, request)
            session, record = sides(value)[side]
            turn, rating = rated_turn(session, data.index), rating_of(data.liked)
            if turn is None or rating is None:
                return {box.note: text("feedback.not_an_answer", lang), box.details: gr.Column(visible=False)}
            assert record is not None, "a finished answer belongs to a session that ran"
            target = Target(side, turn, rating, session.turns[turn].feedback_id)
            try:
                fb = await keep(service, record, target, view=view, client=page.visitor(request),
                                share_id=share_link_id(shared_as))  # fmt: skip
            except RioError as exc:
                return {box.note: refusal(exc, settings, "", lang), box.details: gr.Column(visible=False)}
            session.turns[turn].feedback_id = fb.id  # the same record if this answer is rated again
            return {box.target: replace(target, feedback_id=fb.id), box.details: gr.Column(visible=True),
                    box.note: text(f"feedback.thanks.{rating}", lang), box.reason: None, box.comment: ""}  # fmt: skip

        return like

    async def send(value: Any, chosen: str | None, target: Target | None, reason: str | None, comment: str,
                   request: gr.Request, shared_as: str | None = None) -> dict:  # fmt: skip
        lang = page.lang_for(chosen, request)
        if target is None:
            return {box.note: text("feedback.nothing_to_send", lang)}
        _, record = sides(value)[target.side]
        assert record is not None, "a rated answer belongs to a session that ran"
        try:
            await keep(service, record, target, view=view, client=page.visitor(request),
                       share_id=share_link_id(shared_as), reason=reason, comment=comment or "")  # fmt: skip
        except RioError as exc:
            return {box.note: refusal(exc, settings, comment or "", lang)}
        return {box.note: text("feedback.thanks.details", lang), box.details: gr.Column(visible=False)}

    outputs = [box.target, box.details, box.note, box.reason, box.comment]
    for i, pane in enumerate(panes):
        pane.like(on_like(i), [state, page.lang, *extra], outputs, api_visibility="private")
    # UI-only (it needs the rating's session state): hidden from the API page, still callable
    box.send.click(send, [state, page.lang, box.target, box.reason, box.comment, *extra], outputs,
                   api_name=f"{view}_feedback_details", api_visibility="undocumented")  # fmt: skip


def share_link_id(typed: str | None) -> str | None:
    """The share id a shared view was opened with (its link or id as typed), or None elsewhere."""
    if not typed:
        return None
    return typed.strip().rsplit("share=", 1)[-1].split("&")[0] or None
