"""The SwiReasoning plugin's hooks in SGLang's HTTP (tokenizer-manager) process: the per-token
`[latent, switched_to, count]` entries the scheduler's sample hook ships through SGLang's
`customized_info` channel become progress chunks in a stream and totals in a non-streaming response
(swireasoning/progress.py). Registered by `swireasoning.sglang_plugin.register`; imports no sglang.

A failure here is contained to its request: a stream ends with an error chunk naming the plugin
(and the request is aborted in the server), a response goes out without the totals; others run on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from swireasoning.progress import CHUNK_KEY, STEP_KEY, ProgressFold

log = logging.getLogger(__name__)
PARAMS_KEY = "swireasoning"


class HttpState:
    """This HTTP process's open SwiReasoning streams: id(GenerateReqInput) -> its progress fold, and
    the streams whose fold failed (they end with an error at their next chunk)."""

    def __init__(self) -> None:
        self.folds: dict[int, ProgressFold] = {}
        self.broken: dict[int, str] = {}


HTTP = HttpState()


def wants_swireasoning(custom_params: Any) -> bool:
    return isinstance(custom_params, dict) and isinstance(custom_params.get(PARAMS_KEY), dict)


def around_meta_info(original: Any, manager: Any, meta_info: dict, state: Any, customized_info: dict,
                     index: int, *a: Any, **kw: Any) -> Any:  # fmt: skip
    steps = customized_info.get(STEP_KEY)
    if steps is not None and all(entry is None for entry in steps[index]):
        customized_info = {k: v for k, v in customized_info.items() if k != STEP_KEY}
    result = original(manager, meta_info, state, customized_info, index, *a, **kw)
    key = id(state.obj)
    fold = HTTP.folds.get(key)
    if fold is not None and STEP_KEY in meta_info:
        try:
            fold.see(meta_info[STEP_KEY])
        except Exception as exc:
            log.exception("rio_swireasoning: reading the progress of a stream failed")
            HTTP.folds.pop(key, None)
            HTTP.broken[key] = f"{type(exc).__name__}: {exc}"
    return result


def around_chat_stream(original: Any, serving: Any, adapted_request: Any, request: Any, raw_request: Any,
                       *a: Any, **kw: Any) -> Any:  # fmt: skip
    chunks = original(serving, adapted_request, request, raw_request, *a, **kw)
    if not wants_swireasoning(getattr(request, "custom_params", None)):
        return chunks
    return with_progress(chunks, adapted_request, request.model, serving)


async def with_progress(chunks: AsyncIterator[str], adapted_request: Any, model: str,
                        serving: Any = None) -> AsyncIterator[str]:  # fmt: skip
    """The stream, with a progress chunk before text whose tokens switched mode and one before [DONE]."""
    key = id(adapted_request)
    fold = HTTP.folds[key] = ProgressFold()
    try:
        async for chunk in chunks:
            try:
                extra = progress_chunk(fold, key, chunk, adapted_request, model)
            except Exception as exc:
                log.exception("rio_swireasoning: the progress of stream %s failed", adapted_request.rid)
                yield error_chunk(f"{type(exc).__name__}: {exc}")
                abort(serving, adapted_request)
                return
            if extra is not None:
                yield extra
            yield chunk
    finally:
        HTTP.folds.pop(key, None)
        HTTP.broken.pop(key, None)


def progress_chunk(fold: ProgressFold, key: int, chunk: str, adapted_request: Any, model: str) -> str | None:
    if key in HTTP.broken:
        raise RuntimeError(HTTP.broken[key])
    final = chunk.startswith("data: [DONE]")
    progress = fold.take() if final and fold.tokens else fold.changed()
    if progress is None:
        return None
    body = {"id": str(adapted_request.rid), "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "choices": [], CHUNK_KEY: progress.model_dump()}  # fmt: skip
    return f"data: {json.dumps(body)}\n\n"


def error_chunk(detail: str) -> str:
    """SGLang's own shape for an error inside a stream (`create_streaming_error_response`)."""
    message = f"rio_swireasoning failed on this request ({detail}). The server keeps serving; retrying may help."
    error = {"object": "error", "message": message, "type": "InternalServerError", "code": 500}
    return f"data: {json.dumps({'error': error})}\n\n"


def abort(serving: Any, adapted_request: Any) -> None:
    """Stop the request in the scheduler too (its stream is ending here)."""
    try:
        serving.tokenizer_manager.abort_request(rid=adapted_request.rid)
    except Exception:
        log.exception("rio_swireasoning: aborting %s failed", getattr(adapted_request, "rid", "?"))


def after_chat_response(response: Any, serving: Any, request: Any, ret: list, *a: Any, **kw: Any) -> Any:
    steps = ret[0].get("meta_info", {}).get(STEP_KEY) if ret else None
    if steps is None or not hasattr(response, "metadata"):
        return response
    try:
        fold = ProgressFold()
        fold.see(steps)
        response.metadata = {**(response.metadata or {}), CHUNK_KEY: fold.take().model_dump()}
    except Exception:  # the answer goes out without the totals
        log.exception("rio_swireasoning: the totals of a response failed")
    return response
