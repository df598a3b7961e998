"""A loopback stand-in for an SGLang 0.5.23 server, speaking its exact wire format.

Runs in the separate `.venv-sglang` (sglang installed with --no-deps, CPU torch): every request is
validated with SGLang's own `ChatCompletionRequest`, every chunk is built with SGLang's own
`build_sse_content` / `ChatCompletionStreamResponse` / `UsageProcessor`, error bodies with its
`ErrorResponse`, exactly as `serving_chat._generate_chat_stream` frames them. Only the tokens are
made up. A marker in the last user message picks a scenario: [[503]] [[drop]] [[hang]]
[[malformed]] [[error]] [[slow]] [[paced]] (the normal answer, 50 ms a piece). `/_test/requests`
(with each request's Host) and `/_test/aborts` show what it received.

    .venv-sglang/bin/python tests/support/sglang_contract_server.py PORT
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time

import uvicorn
from sglang.srt.entrypoints.openai.protocol import ChatCompletionRequest, ChatCompletionStreamResponse, ErrorResponse
from sglang.srt.entrypoints.openai.sse_utils import build_sse_content
from sglang.srt.entrypoints.openai.usage_processor import UsageProcessor
from sglang.srt.sampling.sampling_params import SamplingParams
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

REQUESTS: list[dict] = []
ABORTS: list[str] = []
SEEN_PROMPTS: set[str] = set()
REASONING = ["Let ", "me ", "think ", "about ", "Rio. "]
ANSWER = ["Rio ", "de ", "Janeiro ", "is ", "a ", "city."]


def scenario(req: ChatCompletionRequest) -> str:
    last = req.messages[-1].content
    text = last if isinstance(last, str) else " ".join(getattr(p, "text", "") or "" for p in last)
    found = re.search(r"\[\[(\w+)\]\]", text)
    return found.group(1) if found else "normal"


def error_body(message: str, err_type: str, code: int) -> str:
    return json.dumps({"error": ErrorResponse(message=message, type=err_type, code=code).model_dump()})


async def stream(req: ChatCompletionRequest, kind: str, prompt_key: str):
    rid, created, model = str(req.rid or "chatcmpl-test"), int(time.time()), req.model
    thinking = (req.chat_template_kwargs or {}).get("enable_thinking", True)
    yield build_sse_content(chunk_id=rid, created=created, model=model, index=0, role="assistant", content="")
    if kind == "malformed":
        yield "data: {this is not json\n\n"
        return
    if kind == "error":
        yield f"data: {error_body('CUDA out of memory', 'InternalServerError', 500)}\n\n"
        yield "data: [DONE]\n\n"
        return
    pieces = [("r", t) for t in (REASONING if thinking else [])] + [("c", t) for t in ANSWER]
    if kind == "slow":
        pieces = pieces * 200
    for i, (part, text) in enumerate(pieces):
        if kind == "drop" and i == 3:
            raise ConnectionResetError("dropped on purpose")  # the connection closes without [DONE]
        if kind in ("slow", "paced"):
            await asyncio.sleep(0.05)
        field = {"reasoning_content": text} if part == "r" else {"content": text}
        yield build_sse_content(chunk_id=rid, created=created, model=model, index=0, **field)
    yield build_sse_content(chunk_id=rid, created=created, model=model, index=0, finish_reason="stop")
    prompt_tokens = 40
    cached = prompt_tokens - 8 if prompt_key in SEEN_PROMPTS else 0
    SEEN_PROMPTS.add(prompt_key)
    usage = UsageProcessor.calculate_streaming_usage(
        {0: prompt_tokens}, {0: len(REASONING) if thinking else 0}, {0: len(pieces)}, {0: cached},
        n_choices=1, enable_cache_report=True,
    )  # fmt: skip
    chunk = ChatCompletionStreamResponse(id=rid, created=created, choices=[], model=model, usage=usage)
    yield f"data: {chunk.model_dump_json()}\n\n"
    yield "data: [DONE]\n\n"


async def chat(request: Request) -> Response:
    raw = await request.json()
    REQUESTS.append(
        {"body": raw, "authorization": request.headers.get("authorization"), "host": request.headers.get("host")}
    )
    req = ChatCompletionRequest.model_validate(raw)  # SGLang's own validation of what we send
    # ...and what the scheduler would get: SGLang's SamplingParams, checked as its tokenizer manager does
    params = SamplingParams(**req.to_sampling_params(stop=[], model_generation_config={}))
    params.verify(vocab_size=248_320)
    REQUESTS[-1]["sampling_params"] = {"custom_params": params.custom_params, "top_k": params.top_k}
    kind = scenario(req)
    if kind == "503":
        return Response(error_body("Server is overloaded", "ServiceUnavailable", 503), status_code=503)
    if kind == "hang":
        await asyncio.sleep(3600)
    key = json.dumps(raw["messages"], sort_keys=True)
    return StreamingResponse(stream(req, kind, key), media_type="text/event-stream")


async def abort(request: Request) -> Response:
    ABORTS.append((await request.json())["rid"])
    return Response(status_code=200)


async def model_info(_: Request) -> Response:
    return JSONResponse({"model_path": "prefeitura-rio/Rio-3.5-Open-397B", "is_generation": True,
                         "reasoning_parser": "qwen3", "has_image_understanding": True})  # fmt: skip


APP = Starlette(
    routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/abort_request", abort, methods=["POST"]),
        Route("/health", lambda _: Response(status_code=200)),
        Route("/model_info", model_info),
        Route("/_test/requests", lambda _: JSONResponse(REQUESTS)),
        Route("/_test/aborts", lambda _: JSONResponse(ABORTS)),
    ]
)

if __name__ == "__main__":
    uvicorn.run(APP, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
