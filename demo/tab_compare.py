"""The Compare tab: one prompt to two sides (two models, or one model with SwiReasoning on and off)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from demo.chat import ChatService
from demo.examples import COMPARE_EXAMPLES, picked
from demo.feedback import FeedbackBox, build_feedback_box, wire_feedback
from demo.i18n import I18N, text
from demo.render import chat_messages, diff_summary
from demo.session import ChatSession, Params, snapshot_of
from demo.timeline import thinking_side_by_side
from demo.widgets import (
    Page,
    chat_pane,
    mode_choices,
    pair,
    prompt_box,
    rejected_turn,
    resume_state,
    share_reply,
    show_link,
)
from demo.wire import wire
from worker.jobs import RioError, SideRecord

PRESETS = ("two_models", "swir_on_off")
STOPS = ("stop_a", "stop_b", "stop_both")


@dataclass
class CompareTab:
    sessions: gr.State
    panes: list[gr.Chatbot]
    summary: gr.Markdown
    models: list[gr.Dropdown]
    modes: list[gr.Radio]
    textbox: gr.MultimodalTextbox


def labels(page: Page, sides: list[Params], lang: str = "en") -> list[str]:
    """The sides' names: English for a stored record (the default), else said in `lang`."""
    return [page.side(p.model, p.mode, lang) for p in sides]


def summary_of(page: Page, sessions: list[ChatSession]) -> str:
    if any(s.params is None or not s.turns for s in sessions):
        return ""
    lang = sessions[0].lang
    la, lb = labels(page, [s.params for s in sessions if s.params], lang)
    a, b = sessions[0].turns[-1], sessions[1].turns[-1]
    side_by_side = thinking_side_by_side(la, a.stats, lb, b.stats, lang)
    return "\n\n".join(x for x in (diff_summary(la, a, lb, b, lang), side_by_side) if x)


def sides_of(page: Page, sessions: list[ChatSession]) -> list[tuple[ChatSession, SideRecord | None]]:
    """Each side's session and record (labelled as a stored comparison is: in English)."""
    return [(s, s.record(page.side(s.params.model, s.params.mode, "en")) if s.params else None) for s in sessions]


def render(page: Page, sessions: list[ChatSession], labelled: bool = True) -> list:
    """The two panes and the summary line; `labelled` also sets each pane's label (side, model, mode),
    which makes it a component update (see widgets.HELD_VALUES): streaming updates leave labels alone."""
    out: list = []
    for s, side in zip(sessions, "AB", strict=True):
        label = f"{side}: {page.side(s.params.model, s.params.mode, s.lang)}" if s.params else side
        out.append(gr.Chatbot(value=chat_messages(s), label=label) if labelled else chat_messages(s))
    return [*out, summary_of(page, sessions)]


@dataclass
class CompareView:
    """The tab's widgets."""

    sessions: gr.State
    preset: gr.Radio
    models: list[gr.Dropdown]
    modes: list[gr.Radio]
    panes: list[gr.Chatbot]
    summary: gr.Markdown
    textbox: gr.MultimodalTextbox
    stops: list[gr.Button]  # A, B, both
    regenerate: gr.Button
    clear: gr.Button
    share: gr.Button
    link: gr.Textbox
    feedback: FeedbackBox  # the reason-and-comment form under the panes


def build_compare(service: ChatService, page: Page) -> CompareTab:
    view = compare_layout(page)
    wire_compare(view, CompareEvents(service, page, view), page)
    return CompareTab(view.sessions, view.panes, view.summary, view.models, view.modes, view.textbox)


def compare_layout(page: Page) -> CompareView:
    keys = [(e.label, e.key) for e in page.models.values()]
    a, b = page.default_pair
    sessions = gr.State(pair())
    presets = [(I18N(f"compare.{p}"), p) for p in PRESETS]
    with gr.Row(elem_id="compare-choice"):
        preset = gr.Radio(presets, value=PRESETS[0], label=I18N("compare.preset"), elem_id="compare-preset")
        with gr.Column():
            model_a = gr.Dropdown(keys, value=a, label=I18N("compare.side_a"), elem_id="compare-model-a")
            mode_a = gr.Radio(mode_choices(), value=page.models[a].default_reasoning, label=I18N("compare.reasoning_a"),
                              elem_id="compare-mode-a")  # fmt: skip
        with gr.Column():
            model_b = gr.Dropdown(keys, value=b, label=I18N("compare.side_b"), elem_id="compare-model-b")
            mode_b = gr.Radio(mode_choices(), value=page.models[b].default_reasoning, label=I18N("compare.reasoning_b"),
                              elem_id="compare-mode-b")  # fmt: skip
    with gr.Row(elem_id="compare-panes"):
        pane_a = chat_pane("A", "compare-a")
        pane_b = chat_pane("B", "compare-b")
    summary = gr.Markdown(elem_id="compare-summary")
    textbox = prompt_box("compare-prompt", "compare.placeholder")
    with gr.Row(elem_id="compare-buttons"):
        stop_a = gr.Button(I18N("compare.stop_a"), elem_id="stop-a")
        stop_b = gr.Button(I18N("compare.stop_b"), elem_id="stop-b")
        stop_both = gr.Button(I18N("compare.stop_both"), variant="stop", elem_id="stop-both")
        regenerate = gr.Button(I18N("compare.regenerate"), elem_id="regenerate")
        clear = gr.Button(I18N("compare.new"), elem_id="new-compare")
        share = gr.Button(I18N("chat.share"), elem_id="share-compare")
    link = gr.Textbox(label=I18N("chat.share_link"), visible=False, buttons=["copy"], elem_id="share-link-compare")
    feedback = build_feedback_box("compare")
    return CompareView(sessions, preset, [model_a, model_b], [mode_a, mode_b], [pane_a, pane_b], summary, textbox,
                       [stop_a, stop_b, stop_both], regenerate, clear, share, link, feedback)  # fmt: skip


def wire_compare(view: CompareView, events: CompareEvents, page: Page) -> None:
    busy = [*view.panes, view.summary, view.textbox, page.resume]  # the sessions State is changed in place
    (model_a, model_b), (mode_a, mode_b) = view.models, view.modes
    sides = page.knobs.inputs(model_a=model_a, reasoning_a=mode_a, model_b=model_b, reasoning_b=mode_b)
    sent = [view.textbox, view.sessions, page.lang]
    view.textbox.submit(events.submit, sent, busy, inputs_kwargs=sides, api_name="compare", concurrency_limit=None,
                        postprocess=False)  # fmt: skip
    view.panes[0].example_select(events.take_example, [model_a, page.lang],
                                 [view.textbox, view.preset, model_b, mode_a, mode_b], api_visibility="private").then(
        events.submit, sent, busy, inputs_kwargs=sides, api_visibility="private", concurrency_limit=None,
        postprocess=False)  # fmt: skip
    view.regenerate.click(events.regenerate, [view.sessions, page.lang], busy, inputs_kwargs=sides,
                          api_name="regenerate", concurrency_limit=None, postprocess=False)  # fmt: skip
    for button, stop, name in zip(view.stops, (events.stop_a, events.stop_b, events.stop_both), STOPS, strict=True):
        button.click(stop, [view.sessions], None, api_name=name, concurrency_limit=None)
    view.clear.click(events.fresh, None, [view.sessions, *view.panes, view.summary, view.link], api_name="new_compare")
    view.share.click(events.share_compare, [view.sessions, page.lang], [view.link], api_name="share_compare").then(
        show_link, None, [view.link], api_visibility="private")  # fmt: skip
    view.preset.change(events.apply_preset, [view.preset, model_a], [model_a, mode_a, model_b, mode_b],
                       api_visibility="private")  # fmt: skip
    wire_feedback(events.service, page, view.feedback, view.panes, view.sessions, lambda s: sides_of(page, s),
                  "compare")  # fmt: skip


@dataclass
class CompareEvents:
    """What the tab's events do; the sessions are two `ChatSession`s, A and B."""

    service: ChatService
    page: Page
    view: CompareView

    def panes(self, state: list[ChatSession], labelled: bool = False) -> dict:
        outputs = [*self.view.panes, self.view.summary]
        return dict(zip(outputs, render(self.page, state, labelled=labelled), strict=True))

    async def run(self, state: list[ChatSession], sides: list[Params], request: gr.Request | None):
        page, textbox = self.page, self.view.textbox
        relabel = [s.params for s in state] != sides
        held: dict = {textbox: None, page.resume: None}  # see widgets.HELD_VALUES
        who = page.visitor(request)
        async for _ in self.service.run_sides(list(zip(state, sides, strict=True)), who):
            update = self.panes(state, labelled=relabel)
            relabel = relabel and [s.params for s in state] != sides  # shown once the sides took them
            if held[page.resume] is None and all(s.params and s.turns[-1].job_id for s in state):
                held[page.resume] = resume_state("compare", state, labels(page, sides))
            yield wire({**held, **update})
        yield wire({**self.panes(state), page.resume: None, textbox: gr.MultimodalTextbox(interactive=True)})

    async def submit(self, message: dict, state: list[ChatSession], lang: str | None, request: gr.Request,
                     **choice: Any):  # fmt: skip
        """Ask two sides (`model_a` with `reasoning_a`, `model_b` with `reasoning_b`, the same knobs) the
        same message at once; streams both conversations and a line on how the answers differ."""
        sides = [Params.parse(choice, "_a"), Params.parse(choice, "_b")]
        for s in state:
            s.lang = self.page.lang_for(lang, request)
        text = message.get("text") or ""
        try:
            turn = await self.service.new_turn(text, message.get("files") or [], self.page.visitor(request))
        except RioError as exc:
            for s in state:
                s.turns.append(rejected_turn(text, exc))
            yield wire(self.panes(state))
            return
        for s in state:
            s.turns.append(turn.retry())
        yield wire({**self.panes(state), self.view.textbox: gr.MultimodalTextbox(value=None, interactive=False)})
        async for update in self.run(state, sides, request):
            yield update

    async def regenerate(self, state: list[ChatSession], lang: str | None, request: gr.Request, **choice: Any):
        """Answer the last message again on both sides, with these sides and knobs."""
        for s in state:
            s.lang = self.page.lang_for(lang, request)
        if not all(s.turns for s in state) or any(s.running for s in state):
            yield wire({self.view.summary: text("compare.nothing_to_regenerate", state[0].lang)})
            return
        for s in state:
            s.turns[-1] = s.turns[-1].retry()
        async for update in self.run(state, [Params.parse(choice, "_a"), Params.parse(choice, "_b")], request):
            yield update

    async def stop_a(self, state: list[ChatSession]) -> None:
        """Stop side A's running answer."""
        await self.service.stop(state[0])

    async def stop_b(self, state: list[ChatSession]) -> None:
        """Stop side B's running answer."""
        await self.service.stop(state[1])

    async def stop_both(self, state: list[ChatSession]) -> None:
        """Stop both running answers."""
        for s in state:
            await self.service.stop(s)

    async def share_compare(self, state: list[ChatSession], lang: str | None, request: gr.Request) -> str:
        """A link to this comparison, read-only for whoever opens it (or why not yet)."""
        lang = self.page.lang_for(lang, request)
        if not all(s.turns and s.params for s in state):
            return text("compare.nothing_to_share", lang)
        if any(s.running for s in state):
            return text("compare.wait_to_share", lang)
        snapshot = snapshot_of("compare", state, labels(self.page, [s.params for s in state if s.params]))
        return await share_reply(self.service, self.page, request, snapshot, lang)

    def apply_preset(self, name: str, model_a: str) -> tuple:
        page = self.page
        if name == PRESETS[1]:
            return model_a, "swireasoning", model_a, "thinking"
        a, b = page.default_pair
        return a, page.models[a].default_reasoning, b, page.models[b].default_reasoning

    def fresh(self) -> tuple:
        """A new, empty comparison."""
        return pair(), gr.Chatbot(value=[], label="A"), gr.Chatbot(value=[], label="B"), "", gr.Textbox(visible=False)

    def take_example(self, evt: gr.SelectData, model_a: str, lang: str | None, request: gr.Request) -> dict:
        """An example into the prompt box; a SwiReasoning one sets one model with it on vs off."""
        view = self.view
        e, message = picked(COMPARE_EXAMPLES, self.page.examples, evt, self.page.lang_for(lang, request))
        if not e.swir:
            return {view.textbox: message}
        (_, model_b), (mode_a, mode_b) = view.models, view.modes
        return {view.textbox: message, view.preset: PRESETS[1], model_b: model_a, mode_a: "swireasoning",
                mode_b: "thinking"}  # fmt: skip
