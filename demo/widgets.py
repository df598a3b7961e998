"""What the tabs share: the parameter widgets, the request's client id, share links, chat panes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import gradio as gr
from gradio.blocks import Block

from demo.chat import ChatService
from demo.knobs import KNOBS, Knob
from demo.session import ChatSession, Turn, snapshot_of
from demo.visitor import ProxyTrust, client_id
from worker.jobs import Error, ModelEntry, RioError, Snapshot

# HELD_VALUES: each tick of a streaming event sends the plain value of every output that does not
# change mid-stream (an emptied, locked textbox; the Stop label; the resume state). Gradio turns an
# output left out of a dict into a skip update, and any update, skip included, rebuilds that
# component's config with its JSON schema: with 64 compare sessions that was over a third of the web
# process's CPU (py-spy), for nothing. Labels likewise change only when a turn's sides do.


@dataclass
class Knobs:
    """The knobs' widgets (`demo/knobs.py`), by name: every tab's requests and the API read them."""

    widgets: dict[str, gr.components.Component]

    @classmethod
    def build(cls) -> Knobs:
        widgets: dict[str, gr.components.Component] = {}
        with gr.Accordion("Parameters", open=False, elem_id="parameters"):
            for row in (KNOBS[:4], KNOBS[4:]):
                with gr.Row():
                    widgets.update((k.name, knob_widget(k)) for k in row)
        return cls(widgets)

    def inputs(self, **sides: Block) -> dict[str, Block]:
        """An event's named inputs: the sides' widgets (`model`, `reasoning`, ...), then every knob."""
        return {**sides, **self.widgets}


def knob_widget(k: Knob) -> gr.components.Component:
    if k.slider is None:
        return gr.Number(value=k.default, precision=0, label=k.label)
    low, high, step = k.slider
    return gr.Slider(low, high, value=k.default, step=step, label=k.label)


def share_link(request: gr.Request | None, public_url: str | None, share_id: str) -> str:
    """The page address (configured, else the page the request came from) with `?share=<id>`."""
    base = public_url
    if not base and request is not None:
        headers = request.headers
        base = headers.get("referer") or headers.get("origin") or f"http://{headers.get('host', 'localhost')}/"
    base = (base or "").split("?")[0].split("#")[0]
    return f"{base.rstrip('/')}/?share={share_id}"


def rejected_turn(text: str, exc: RioError) -> Turn:
    return Turn(user_text=text, error=Error(code=exc.code, message=exc.message))


def chat_pane(label: str, elem_id: str, height: int = 480) -> gr.Chatbot:
    return gr.Chatbot(
        label=label, height=height, elem_id=elem_id, buttons=["copy"], feedback_options=("Like", "Dislike")
    )


def prompt_box(elem_id: str, placeholder: str = "Ask anything; attach or paste images") -> gr.MultimodalTextbox:
    return gr.MultimodalTextbox(
        placeholder=placeholder,
        file_types=["image"],
        file_count="multiple",
        sources=["upload"],
        elem_id=elem_id,
        show_label=False,
    )


def pair() -> list[ChatSession]:
    return [ChatSession(), ChatSession()]


@dataclass
class Page:
    """Components and facts each tab builder needs from the page around it."""

    models: dict[str, ModelEntry]
    default_model: str
    default_pair: tuple[str, str]
    knobs: Knobs
    tabs: gr.Tabs
    resume: gr.BrowserState
    public_url: str | None
    trust: ProxyTrust

    def label(self, model: str) -> str:
        e = self.models.get(model)
        return e.label if e else model

    def visitor(self, request: gr.Request | None) -> str:
        """The client id this request is limited as (demo/visitor.py)."""
        return client_id(request, self.trust)


def resume_state(kind: Literal["chat", "compare"], sessions: list[ChatSession], labels: list[str]) -> dict:
    """What the browser keeps while jobs run, so a reload can replay and follow them."""
    return {"kind": kind, "snapshot": snapshot_of(kind, sessions, labels).model_dump(mode="json")}


def show_link() -> gr.Textbox:
    """The share-link box, shown once a share event has put the link (or why not) in it."""
    return gr.Textbox(visible=True)


async def share_reply(service: ChatService, page: Page, request: gr.Request | None, snapshot: Snapshot) -> str:
    """The share link for a finished conversation, or why it cannot be shared."""
    try:
        share_id = await service.share(snapshot, page.visitor(request) if request else None)
    except RioError as exc:
        return exc.message
    return share_link(request, page.public_url, share_id)
