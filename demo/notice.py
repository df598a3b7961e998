"""The data-use notice: shown on a first visit in the page's language, remembered by the browser once
accepted, opened again from the footer's link. What it says follows the settings (how long images and
answers are kept)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from demo.i18n import I18N, text
from worker.jobs import Settings

NOTICE_VERSION = "1"  # raise it when the notice changes: every visitor sees the new one once


@dataclass
class DataNotice:
    box: gr.Column
    body: gr.Markdown
    accept: gr.Button
    accepted: gr.BrowserState  # the version of the notice this browser accepted


def build_notice(settings: Settings) -> DataNotice:
    with gr.Column(visible=False, elem_id="data-notice") as box:
        gr.Markdown(I18N("notice.title"))
        body = gr.Markdown(elem_id="data-notice-body")
        accept = gr.Button(I18N("notice.accept"), variant="primary", elem_id="data-accept")
    accepted = gr.BrowserState(None, storage_key="rio-data-notice", secret=settings.browser_secret)
    return DataNotice(box, body, accept, accepted)


def notice_text(settings: Settings, lang: str) -> str:
    return text("notice.body", lang, image_h=settings.image_ttl_s / 3600, stream_h=settings.stream_ttl_s / 3600)


def on_load(notice: DataNotice, settings: Settings, accepted: str | None, lang: str) -> dict:
    """The page's load: the notice said in `lang`, shown unless this browser accepted this version."""
    return {notice.box: gr.Column(visible=accepted != NOTICE_VERSION), notice.body: notice_text(settings, lang)}


def wire_notice(notice: DataNotice, link: gr.Button) -> None:
    notice.accept.click(lambda: (NOTICE_VERSION, gr.Column(visible=False)), None, [notice.accepted, notice.box],
                        api_visibility="private")  # fmt: skip
    link.click(lambda: gr.Column(visible=True), None, [notice.box], api_visibility="private")
