"""What the tabs share: the parameter widgets, the request's client id, share links, chat panes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gradio as gr
from gradio.blocks import Block

from demo.chat import ChatService
from demo.i18n import CATALOG, I18N, accepted_lang, lang_of, say, text
from demo.knobs import KNOBS, Knob
from demo.render import side_label
from demo.session import ChatSession, Turn, snapshot_of
from demo.visitor import ProxyTrust, client_id
from worker.jobs import ModelEntry, RioError, Snapshot, error_event

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
        with gr.Accordion(I18N("knobs.title"), open=False, elem_id="parameters"):
            for row in (KNOBS[:4], KNOBS[4:]):
                with gr.Row():
                    widgets.update((k.name, knob_widget(k)) for k in row)
        return cls(widgets)

    def inputs(self, **sides: Block) -> dict[str, Block]:
        """An event's named inputs: the sides' widgets (`model`, `reasoning`, ...), then every knob."""
        return {**sides, **self.widgets}


def knob_widget(k: Knob) -> gr.components.Component:
    if k.slider is None:
        return gr.Number(value=k.default, precision=0, label=knob_label(k))
    low, high, step = k.slider
    return gr.Slider(low, high, value=k.default, step=step, label=knob_label(k))


def knob_label(k: Knob) -> Any:
    """The knob's label in the page's language (the catalog's `knobs.<name>`; its English is `k.label`)."""
    return I18N(f"knobs.{k.name}")


def share_link(request: gr.Request | None, public_url: str | None, share_id: str) -> str:
    """The page address (configured, else the page the request came from) with `?share=<id>`."""
    base = public_url
    if not base and request is not None:
        headers = request.headers
        base = headers.get("referer") or headers.get("origin") or f"http://{headers.get('host', 'localhost')}/"
    base = (base or "").split("?")[0].split("#")[0]
    return f"{base.rstrip('/')}/?share={share_id}"


def rejected_turn(text: str, exc: RioError) -> Turn:
    return Turn(user_text=text, error=error_event(exc).model_copy(update={"retryable": False}))


# Qwen models write all four; Gradio's default is `$$` only
LATEX: list[dict[str, str | bool]] = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
    {"left": "\\(", "right": "\\)", "display": False},
    {"left": "\\[", "right": "\\]", "display": True},
]


def chat_pane(label: Any, elem_id: str, height: int = 480) -> gr.Chatbot:
    return gr.Chatbot(
        label=label,
        height=height,
        elem_id=elem_id,
        buttons=["copy"],
        feedback_options=("Like", "Dislike"),  # the event's values (demo/feedback.py), not shown as text
        latex_delimiters=LATEX,
    )


def prompt_box(elem_id: str, placeholder: str = "chat.placeholder") -> gr.MultimodalTextbox:
    return gr.MultimodalTextbox(
        placeholder=I18N(placeholder),  # type: ignore[arg-type]  # Gradio's own i18n: translated in the browser
        file_types=["image"],
        file_count="multiple",
        sources=["upload"],
        elem_id=elem_id,
        show_label=False,
    )


def mode_choices() -> list[tuple[Any, str]]:
    return [(I18N(f"mode.{m}"), m) for m in ("swireasoning", "thinking", "off")]


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
    lang: gr.State  # the visitor's language ("pt" or "en"), set on load and by the switch
    examples: Path = Path("var/examples")  # the example prompts' pictures (demo/example_images.py)

    @staticmethod
    def lang_for(chosen: str | None, request: gr.Request | None) -> str:
        """The page's language when it set one, else the request's `Accept-Language` (English for none)."""
        if chosen:
            return lang_of(chosen)
        if request is None:
            return accepted_lang(None)
        linked = dict(request.query_params or {}).get("lang")  # the page's `?lang=` deep link
        return lang_of(linked) if linked else accepted_lang(request.headers.get("accept-language"))

    def label(self, model: str, lang: str = "en") -> str:
        """A model's name for people: the registry's label (English, as stored with shares and votes), or
        its catalog form in `lang` where the label has words in it."""
        e = self.models.get(model)
        if e is None:
            return model
        return text(f"model.{model}", lang) if f"model.{model}" in CATALOG else e.label

    def side(self, model: str, mode: str, lang: str) -> str:
        """`model · mode` in `lang` (a compare side, a battle contender)."""
        return side_label(self.label(model, lang), mode, lang)

    def visitor(self, request: gr.Request | None) -> str:
        """The client id this request is limited as (demo/visitor.py)."""
        return client_id(request, self.trust)


def resume_state(kind: Literal["chat", "compare"], sessions: list[ChatSession], labels: list[str]) -> dict:
    """What the browser keeps while jobs run, so a reload can replay and follow them."""
    return {"kind": kind, "snapshot": snapshot_of(kind, sessions, labels).model_dump(mode="json")}


def show_link() -> gr.Textbox:
    """The share-link box, shown once a share event has put the link (or why not) in it."""
    return gr.Textbox(visible=True)


async def share_reply(service: ChatService, page: Page, request: gr.Request | None, snapshot: Snapshot,
                      lang: str) -> str:  # fmt: skip
    """The share link for a finished conversation, or why it cannot be shared."""
    try:
        share_id = await service.share(snapshot, page.visitor(request) if request else None)
    except RioError as exc:
        return say(error_event(exc), lang)
    return share_link(request, page.public_url, share_id)
