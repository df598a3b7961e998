"""Endpoints for programs, beside the page's own events: plain values in and out, every input named.

`/ask` answers one message (the answer, its thinking and stats as one dict), `/models` says what
`model` may be, `/shared` reads a share link's conversation. Their inputs are the page's: `model`,
`reasoning` and the knobs of `demo/knobs.py`, with the page's defaults. The README's "API" section
shows them from `gradio_client` and `@gradio/client`; `tests/e2e/test_api.py` runs both.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import gradio as gr

from demo.chat import ChatService
from demo.knobs import KNOBS
from demo.session import ChatSession, Params, Turn
from demo.widgets import Page, rejected_turn
from worker.jobs import RioError

Reasoning = Literal["swireasoning", "thinking", "off"]
POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD


def build_api(service: ChatService, page: Page) -> None:
    """Register the endpoints (inside the page's `gr.Blocks`)."""
    gr.api(ask_endpoint(service, page), api_name="ask", concurrency_limit=None)

    async def models() -> list[dict[str, Any]]:
        """The models `model` may name: `key` (the value to pass), `label`, `default_reasoning`, and
        `down` (why, while its workers report it down; else null)."""
        return [{"key": e.key, "label": e.label, "default_reasoning": e.default_reasoning,
                 "down": await service.down_detail(e.key)} for e in page.models.values()]  # fmt: skip

    async def shared(share: str) -> dict[str, Any]:
        """The conversation behind a share link (the link or its id): its kind, and per side the model,
        its settings and every turn with thinking, answer and stats."""
        try:
            snapshot = await service.open_share(share.strip().rsplit("share=", 1)[-1].split("&")[0])
        except RioError as exc:
            raise gr.Error(exc.message) from exc
        return snapshot.model_dump(mode="json")

    gr.api(models, api_name="models")
    gr.api(shared, api_name="shared")


def ask_endpoint(service: ChatService, page: Page) -> Callable[..., Awaitable[dict[str, Any]]]:
    """`/ask`, its signature (which Gradio reads for the API page) built from the one list of knobs."""
    default = page.models[page.default_model]
    signature = inspect.Signature(
        [
            inspect.Parameter("message", POSITIONAL, annotation=str),
            inspect.Parameter("model", POSITIONAL, default=default.key, annotation=str),
            inspect.Parameter("reasoning", POSITIONAL, default=default.default_reasoning, annotation=Reasoning),
            *(inspect.Parameter(k.name, POSITIONAL, default=k.default, annotation=type(k.default)) for k in KNOBS),
            inspect.Parameter("request", POSITIONAL, default=None, annotation=gr.Request | None),
        ],
        return_annotation=dict[str, Any],
    )

    async def ask(*args: Any, **kwargs: Any) -> dict[str, Any]:
        """Ask `model` one message (no earlier turns) and wait for the whole answer: `answer`, `thinking`
        (explicit and latent, as text), `stats` (tokens, timings, switches), `finish` and `error`
        (a sentence, or null)."""
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()  # an input left out takes the page's default
        values = dict(bound.arguments)
        request = values.pop("request", None)
        return await answer(service, page.visitor(request), values["message"], Params.parse(values))

    ask.__signature__ = signature  # type: ignore[attr-defined]  # what inspect (and Gradio) read
    ask.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()} | {"return": dict[str, Any]}
    return ask


async def answer(service: ChatService, who: str, message: str, params: Params) -> dict[str, Any]:
    """One turn run to its end within `who`'s limits, as plain values."""
    try:
        turn = await service.new_turn(message, [], who)
    except RioError as exc:
        return answer_of(rejected_turn(message, exc))
    session = ChatSession(turns=[turn])
    async for _ in service.run_sides([(session, params)], who):
        pass
    return answer_of(turn)


def answer_of(turn: Turn) -> dict[str, Any]:
    stats = turn.stats.model_dump(mode="json", exclude={"type", "v"}) if turn.stats else None
    error = turn.error.message if turn.error else None
    return {
        "answer": turn.answer,
        "thinking": turn.thinking_text,
        "stats": stats,
        "finish": turn.finish,
        "error": error,
    }
