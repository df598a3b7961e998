"""The Compare tab: one prompt to two sides (two models, or one model with SwiReasoning on and off)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from demo.chat import ChatService
from demo.examples import COMPARE_EXAMPLES, picked
from demo.i18n import I18N, text
from demo.render import chat_messages, diff_summary
from demo.session import ChatSession, Params, snapshot_of
from demo.widgets import (
    Page,
    chat_pane,
    mode_choices,
    pair,
    params,
    prompt_box,
    rejected_turn,
    resume_state,
    share_reply,
)
from demo.wire import wire
from worker.jobs import RioError

PRESETS = ("two_models", "swir_on_off")


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
    return diff_summary(la, sessions[0].turns[-1], lb, sessions[1].turns[-1], lang)


def render(page: Page, sessions: list[ChatSession], labelled: bool = True) -> list:
    """The two panes and the summary line; `labelled` also sets each pane's label (side, model, mode),
    which makes it a component update (see widgets.HELD_VALUES): streaming updates leave labels alone."""
    out: list = []
    for s, side in zip(sessions, "AB", strict=True):
        label = f"{side}: {page.side(s.params.model, s.params.mode, s.lang)}" if s.params else side
        out.append(gr.Chatbot(value=chat_messages(s), label=label) if labelled else chat_messages(s))
    return [*out, summary_of(page, sessions)]


def build_compare(service: ChatService, page: Page) -> CompareTab:
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
    outputs = [pane_a, pane_b, summary]
    busy = [*outputs, textbox, page.resume]  # the sessions State is changed in place (demo/wire.py)

    async def run(state: list[ChatSession], sides: list[Params], request: gr.Request | None):
        relabel = [s.params for s in state] != sides
        held: dict = {textbox: None, page.resume: None}  # see widgets.HELD_VALUES
        who = page.visitor(request)
        async for _ in service.run_sides(list(zip(state, sides, strict=True)), who):
            update = dict(zip(outputs, render(page, state, labelled=relabel), strict=True))
            relabel = relabel and [s.params for s in state] != sides  # shown once the sides took them
            if held[page.resume] is None and all(s.params and s.turns[-1].job_id for s in state):
                held[page.resume] = resume_state("compare", state, labels(page, sides))
            yield wire({**held, **update})
        yield wire({**dict(zip(outputs, render(page, state, labelled=False), strict=True)), page.resume: None,
                    textbox: gr.MultimodalTextbox(interactive=True)})  # fmt: skip

    async def submit(message, state: list[ChatSession], ma, mo_a, mb, mo_b, temperature, top_p, top_k, max_tokens,
                     seed, switches, alpha0, window, lang: str | None, request: gr.Request):  # fmt: skip
        knobs = (temperature, top_p, top_k, max_tokens, seed, switches, alpha0, window)
        for s in state:
            s.lang = page.lang_for(lang, request)
        sides = [params(ma, mo_a, knobs), params(mb, mo_b, knobs)]
        text = message.get("text") or ""
        try:
            turn = await service.new_turn(text, message.get("files") or [], page.visitor(request))
        except RioError as exc:
            for s in state:
                s.turns.append(rejected_turn(text, exc))
            yield wire(dict(zip(outputs, render(page, state, labelled=False), strict=True)))
            return
        for s in state:
            s.turns.append(turn.retry())
        yield wire({**dict(zip(outputs, render(page, state, labelled=False), strict=True)),
                    textbox: gr.MultimodalTextbox(value=None, interactive=False)})  # fmt: skip
        async for update in run(state, sides, request):
            yield update

    async def regen(state: list[ChatSession], ma, mo_a, mb, mo_b, temperature, top_p, top_k, max_tokens, seed,
                    switches, alpha0, window, lang: str | None, request: gr.Request):  # fmt: skip
        for s in state:
            s.lang = page.lang_for(lang, request)
        if not all(s.turns for s in state) or any(s.running for s in state):
            yield wire({summary: text("compare.nothing_to_regenerate", state[0].lang)})
            return
        knobs = (temperature, top_p, top_k, max_tokens, seed, switches, alpha0, window)
        for s in state:
            s.turns[-1] = s.turns[-1].retry()
        async for update in run(state, [params(ma, mo_a, knobs), params(mb, mo_b, knobs)], request):
            yield update

    def stopper(sides: tuple[int, ...]):
        async def stop(state: list[ChatSession]) -> None:
            for i in sides:
                await service.stop(state[i])

        return stop

    async def share_compare(state: list[ChatSession], lang: str | None, request: gr.Request) -> dict:
        lang = page.lang_for(lang, request)
        if not all(s.turns and s.params for s in state):
            return {link: gr.Textbox(value=text("compare.nothing_to_share", lang), visible=True)}
        if any(s.running for s in state):
            return {link: gr.Textbox(value=text("compare.wait_to_share", lang), visible=True)}
        snapshot = snapshot_of("compare", state, labels(page, [s.params for s in state if s.params]))
        return {link: gr.Textbox(value=await share_reply(service, page, request, snapshot, lang), visible=True)}

    def apply_preset(name: str, ma: str):
        if name == PRESETS[1]:
            return ma, "swireasoning", ma, "thinking"
        return a, page.models[a].default_reasoning, b, page.models[b].default_reasoning

    def fresh() -> tuple:
        return pair(), gr.Chatbot(value=[], label="A"), gr.Chatbot(value=[], label="B"), "", gr.Textbox(visible=False)

    knobs = page.knobs.components
    sides_in = [model_a, mode_a, model_b, mode_b, *knobs, page.lang]
    sent = [textbox, sessions, *sides_in]
    textbox.submit(submit, sent, busy, api_name="compare", concurrency_limit=None, postprocess=False)

    def take_example(evt: gr.SelectData, ma: str, lang: str | None, request: gr.Request) -> dict:
        e, message = picked(COMPARE_EXAMPLES, page.examples, evt, page.lang_for(lang, request))
        if not e.swir:
            return {textbox: message}
        return {textbox: message, preset: PRESETS[1], model_b: ma, mode_a: "swireasoning", mode_b: "thinking"}

    pane_a.example_select(take_example, [model_a, page.lang], [textbox, preset, model_b, mode_a, mode_b],
                          api_visibility="private").then(submit, sent, busy, api_visibility="private",
                                                         concurrency_limit=None, postprocess=False)  # fmt: skip
    regenerate.click(regen, [sessions, *sides_in], busy, api_name="regenerate", concurrency_limit=None,
                     postprocess=False)  # fmt: skip
    stop_a.click(stopper((0,)), [sessions], None, api_name="stop_a", concurrency_limit=None)
    stop_b.click(stopper((1,)), [sessions], None, api_name="stop_b", concurrency_limit=None)
    stop_both.click(stopper((0, 1)), [sessions], None, api_name="stop_both", concurrency_limit=None)
    clear.click(fresh, None, [sessions, pane_a, pane_b, summary, link], api_name="new_compare")
    share.click(share_compare, [sessions, page.lang], [link], api_name="share_compare")
    preset.change(apply_preset, [preset, model_a], [model_a, mode_a, model_b, mode_b], api_visibility="private")
    return CompareTab(sessions, [pane_a, pane_b], summary, [model_a, model_b], [mode_a, mode_b], textbox)
