"""The Gradio page: layout and event wiring only; the work is in `demo.chat`."""

from __future__ import annotations

import logging

import gradio as gr
import redis.exceptions

from demo.chat import ChatService, parse_params
from demo.render import LATENT_CLASS, chat_messages
from demo.session import ChatSession, Turn
from worker.jobs import Error, ModelEntry, RioError

log = logging.getLogger(__name__)
CSS = f"""
.{LATENT_CLASS} {{ opacity: 0.5; font-style: italic; text-decoration: underline dotted; }}
#rio-banner {{ border-left: 4px solid #e8a400; padding-left: 8px; }}
"""
PARAM_NAMES = (
    "model", "mode", "temperature", "top_p", "top_k", "max_tokens", "seed", "max_switch_count", "alpha0", "window",
)  # fmt: skip
RANDOM_NOTE = "⚠️ **{label}** has random weights: its answers are meaningless random text, shown to test the pipeline."
UNAVAILABLE = Error(
    code="service_unavailable",
    message="The service is unavailable right now (queue unreachable). Your conversation is kept; try again shortly.",
    retryable=True,
)


def banner_text(models: dict[str, ModelEntry], key: str) -> str:
    e = models.get(key)
    return RANDOM_NOTE.format(label=e.label) if e and e.random_weights else ""


def build_app(service: ChatService, models: list[ModelEntry], default_model: str) -> gr.Blocks:
    by_key = {e.key: e for e in models}
    with gr.Blocks(title="Rio 3.5 Open — demo") as demo:
        gr.Markdown(
            "# Rio 3.5 Open 397B\nOpen model by the City of Rio de Janeiro (MIT). "
            "Thinking is shown collapsed; *dimmed* thinking marks SwiReasoning's latent steps."
        )
        banner = gr.Markdown(banner_text(by_key, default_model), elem_id="rio-banner")
        session = gr.State(ChatSession())
        with gr.Row():
            with gr.Column(scale=4):
                chatbot = gr.Chatbot(label="Chat", height=520, elem_id="chat", buttons=["copy"])
                textbox = gr.MultimodalTextbox(
                    placeholder="Ask anything; attach or paste images",
                    file_types=["image"],
                    file_count="multiple",
                    sources=["upload"],
                    elem_id="prompt",
                    show_label=False,
                    autofocus=True,
                )
                with gr.Row():
                    stop = gr.Button("Stop", visible=False, variant="stop", elem_id="stop")
                    clear = gr.Button("New chat", elem_id="new-chat")
            with gr.Column(scale=1):
                model = gr.Dropdown(
                    choices=[(e.label, e.key) for e in models], value=default_model, label="Model", elem_id="model"
                )
                with gr.Accordion("Parameters", open=False):
                    mode = gr.Radio(
                        ["swireasoning", "thinking", "off"],
                        value=by_key[default_model].default_reasoning,
                        label="Reasoning",
                        info="SwiReasoning switches between explicit and latent thinking",
                    )
                    temperature = gr.Slider(0.0, 2.0, value=0.6, step=0.05, label="Temperature")
                    top_p = gr.Slider(0.05, 1.0, value=0.95, step=0.01, label="Top-p")
                    top_k = gr.Slider(0, 200, value=20, step=1, label="Top-k (0 = off)")
                    max_tokens = gr.Slider(1, 8192, value=512, step=1, label="Max new tokens")
                    seed = gr.Number(value=-1, precision=0, label="Seed (-1 = random)")
                    max_switch_count = gr.Slider(0, 16, value=2, step=1, label="Max switch count (0 = no limit)")
                    window = gr.Slider(1, 1024, value=512, step=1, label="Explicit dwell window (steps)")
                    alpha0 = gr.Slider(
                        0.0, 1.0, value=1.0, step=0.05, label="α₀ (blend toward <think> on entering latent)"
                    )
        params = [model, mode, temperature, top_p, top_k, max_tokens, seed, max_switch_count, alpha0, window]
        busy = [chatbot, textbox, stop, session]

        async def submit(message, state, model_, mode_, temp, top_p_, top_k_, max_new, seed_, switches, alpha,
                         dwell, request: gr.Request):  # fmt: skip
            values = (model_, mode_, temp, top_p_, top_k_, max_new, seed_, switches, alpha, dwell)
            p = parse_params(dict(zip(PARAM_NAMES, values, strict=True)))
            try:
                turn = await service.new_turn(message.get("text") or "", message.get("files") or [])
            except RioError as exc:
                turn = Turn(user_text=message.get("text") or "", error=Error(code=exc.code, message=exc.message))
                state.turns.append(turn)
                yield {chatbot: chat_messages(state), session: state}
                return
            state.turns.append(turn)
            yield {chatbot: chat_messages(state), textbox: gr.MultimodalTextbox(value=None, interactive=False),
                   stop: gr.Button(visible=True), session: state}  # fmt: skip
            client_id = getattr(request, "username", None) or (request.client.host if request.client else "anon")
            try:
                async for _ in service.run(state, p, client_id):
                    yield {chatbot: chat_messages(state), session: state}
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                log.warning("redis unavailable during job %s", turn.job_id)
                turn.error = UNAVAILABLE
            yield {chatbot: chat_messages(state), textbox: gr.MultimodalTextbox(interactive=True),
                   stop: gr.Button(visible=False), session: state}  # fmt: skip

        async def stop_job(state: ChatSession) -> None:
            await service.stop(state)

        async def pick_model(key: str) -> dict:
            note = "\n\n".join(t for t in (banner_text(by_key, key), await service.down_note(key)) if t)
            return {banner: note, mode: gr.Radio(value=by_key[key].default_reasoning)}

        textbox.submit(submit, [textbox, session, *params], busy, api_name="chat", concurrency_limit=None)
        stop.click(stop_job, [session], None, api_name="stop", concurrency_limit=None)
        clear.click(lambda: (ChatSession(), []), None, [session, chatbot], api_name="new_chat")
        model.change(pick_model, [model], [banner, mode], api_visibility="private")
        demo.load(pick_model, [model], [banner, mode], api_visibility="private")
    return demo
