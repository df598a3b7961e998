"""The SGLang backend: streaming `/v1/chat/completions` (SGLang's OpenAI-compatible API) over httpx.

SSE framing by `httpx-sse`; chunks are checked against the fields we read (`StreamChunk`). The job
id is SGLang's `rid`, so Stop can `POST /abort_request {rid}` after closing the stream. Failures
become typed errors (`worker.errors`) with a plain message; connection-level failures are retried
with backoff, across the model's endpoints, but only before the first token.
"""

from __future__ import annotations

import base64
import itertools
import logging
import time
from collections.abc import Generator, Iterator
from typing import Any

import httpx
from httpx_sse import SSEError, connect_sse
from pydantic import BaseModel, ConfigDict, ValidationError

from swireasoning.progress import SwiRProgress
from worker.backends.base import JobContext
from worker.errors import BackendError, BackendProtocolError, BackendTimeout, BackendUnavailable, RioError
from worker.queue.protocol import (
    AnswerDelta,
    Done,
    Event,
    FinishReason,
    JobSpec,
    ReasoningDelta,
    Started,
    Stats,
    Switch,
)

log = logging.getLogger(__name__)
RETRY_BACKOFF_S = (0.25, 0.5, 1.0)
HEALTH_TIMEOUT_S = 5.0  # the HTTP process alone answers /model_info: never queued behind a prefill


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Delta(_Loose):
    content: str | None = None
    reasoning_content: str | None = None


class Choice(_Loose):
    index: int = 0
    delta: Delta = Delta()
    finish_reason: str | None = None


class PromptDetails(_Loose):
    cached_tokens: int = 0


class Usage(_Loose):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int | None = 0
    prompt_tokens_details: PromptDetails | None = None


class StreamChunk(_Loose):
    """The parts of SGLang's `ChatCompletionStreamResponse` we use, and the SwiReasoning plugin's progress."""

    choices: list[Choice] = []
    usage: Usage | None = None
    swireasoning: dict[str, Any] | None = None  # a SwiRProgress; one we cannot read is skipped, not fatal


def content_parts(job: JobSpec, ctx: JobContext) -> list[dict[str, Any]]:
    """JobSpec messages -> OpenAI chat messages, images inlined as base64 `data:` URLs."""
    out: list[dict[str, Any]] = []
    for m in job.messages:
        if isinstance(m.content, str):
            out.append({"role": m.role, "content": m.content})
            continue
        parts: list[dict[str, Any]] = []
        for p in m.content:
            if p.type == "text":
                parts.append({"type": "text", "text": p.text})
            else:
                data = ctx.load_image(p.ref)
                mime = "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"  # stored as one or the other
                url = f"data:{mime};base64," + base64.b64encode(data).decode()
                parts.append({"type": "image_url", "image_url": {"url": url}})
        out.append({"role": m.role, "content": parts})
    return out


def request_body(job: JobSpec, ctx: JobContext, served_model: str) -> dict[str, Any]:
    s, r = job.sampling, job.reasoning
    body: dict[str, Any] = {
        "model": served_model,
        "messages": content_parts(job, ctx),
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": s.temperature,
        "top_p": s.top_p,
        "top_k": s.top_k if s.top_k > 0 else -1,  # SGLang's "off" is -1
        "min_p": s.min_p,
        "max_tokens": s.max_tokens,
        "chat_template_kwargs": {"enable_thinking": r.mode != "off"},
        "separate_reasoning": True,
        "rid": job.id,
    }
    if s.seed is not None:
        body["seed"] = s.seed
    if r.mode == "swireasoning":
        # carried by SGLang into SamplingParams.custom_params, where the SwiReasoning plugin reads it
        body["custom_params"] = {"swireasoning": r.model_dump(exclude={"mode"})}
    return body


def http_error(resp: httpx.Response, label: str) -> RioError:
    """A plain message per HTTP status; 429/5xx are worth retrying, other 4xx are not."""
    try:
        detail = str(resp.json().get("message") or resp.json().get("error", {}).get("message") or "")
    except (ValueError, AttributeError):
        detail = ""
    code = resp.status_code
    if code in (401, 403):
        return BackendError("backend_credentials", label=label, retryable=False)
    if code == 429 or code == 503:
        return BackendUnavailable("backend_busy", label=label, status=code)
    if code >= 500:
        return BackendError("backend_failed", label=label, status=code, retryable=True)
    if detail:
        return BackendError("backend_rejected_detail", label=label, status=code, detail=detail, retryable=False)
    return BackendError("backend_rejected", label=label, status=code, retryable=False)


def attempt_rid(job_id: str, attempt: int) -> str:
    return job_id if attempt == 0 else f"{job_id}-retry{attempt}"


class SGLangBackend:
    name = "sglang"

    def __init__(
        self,
        *,
        label: str,
        served_model: str,
        urls: list[str],
        api_key: str | None,
        read_timeout_s: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.label, self.served_model = label, served_model
        self.endpoints = [u.rstrip("/") for u in urls]
        self.urls = itertools.cycle(self.endpoints)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(connect=5.0, read=read_timeout_s, write=30.0, pool=5.0)
        self.http = httpx.Client(headers=headers, timeout=timeout, transport=transport)

    def execute(self, job: JobSpec, ctx: JobContext) -> Generator[Event, None, None]:
        yield Started(worker=ctx.worker, backend=self.name)
        body = request_body(job, ctx, self.served_model)
        t0 = time.perf_counter()
        for attempt, backoff in enumerate((*RETRY_BACKOFF_S, None)):
            url = next(self.urls)
            stream = _Stream(t0)
            # a retry gets a rid of its own: the server may still hold the abandoned attempt (a timed-out
            # prefill is aborted asynchronously) and refuses a duplicate rid with HTTP 400
            body["rid"] = attempt_rid(job.id, attempt)
            try:
                yield from stream.run(self.http, url, body, self.label)
                return
            except (BackendUnavailable, BackendTimeout) as exc:
                if stream.first_token_at is not None or backoff is None:
                    raise
                if isinstance(exc, BackendTimeout) and len(self.endpoints) == 1:
                    raise  # waiting again on the one server that just hung only doubles the wait
                log.warning("%s attempt %d failed before the first token: %s", self.label, attempt + 1, exc.message)
                time.sleep(backoff)
            finally:
                if not stream.finished:
                    self.abort(url, body["rid"])

    def abort(self, url: str, rid: str) -> None:
        """Best effort: SGLang also aborts a request whose stream closed, 2 s later."""
        try:
            self.http.post(f"{url}/abort_request", json={"rid": rid}, timeout=2.0)
        except httpx.HTTPError as exc:
            log.info("abort of %s at %s failed: %s", rid, url, exc)

    def health(self, url: str) -> str | None:
        """None while the server's HTTP process answers `/model_info`, else why not (shown in the model
        picker). Not `/health`: in SGLang 0.5.23 it is `/health_generate`, a one-token request queued
        behind whatever the scheduler runs, so a long prefill reads as a failure (after 20 s it even
        answers 503). A busy server is not a down one: SGLang takes its HTTP process down with a dead
        scheduler, and its watchdog does so with a hung one, so the HTTP process answering is the signal."""
        try:
            info = self.http.get(f"{url}/model_info", timeout=HEALTH_TIMEOUT_S)
        except httpx.HTTPError as exc:
            return f"unreachable ({type(exc).__name__})"
        if info.status_code != 200:
            return f"health check answered HTTP {info.status_code}"
        return None

    def down_reason(self) -> str | None:
        """None while at least one endpoint is healthy (one live replica serves), else the first reason."""
        problems = [p for p in (self.health(u) for u in self.endpoints) if p]
        return problems[0] if len(problems) == len(self.endpoints) else None


class _Stream:
    """One streaming request: SSE chunks -> events; tracks the first token and a clean end."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.first_token_at: float | None = None
        self.finished = False
        self.finish: FinishReason = "stop"
        self.usage = Usage()
        self.swir = SwiRProgress(tokens=0, latent_tokens=0, latent=False, switch_count=0)

    def run(self, http: httpx.Client, url: str, body: dict[str, Any], label: str) -> Iterator[Event]:
        try:
            with connect_sse(http, "POST", f"{url}/v1/chat/completions", json=body) as source:
                if source.response.status_code != 200:
                    source.response.read()
                    raise http_error(source.response, label)
                for sse in source.iter_sse():
                    if sse.data == "[DONE]":
                        self.finished = True
                        yield from self.on_done()
                        return
                    yield from self.on_data(sse.data, label)
        except httpx.ConnectError as exc:
            raise BackendUnavailable("backend_unreachable", label=label) from exc
        except httpx.TimeoutException as exc:
            raise BackendTimeout("backend_timeout", label=label) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, SSEError) as exc:
            raise BackendError("backend_dropped", label=label) from exc
        raise BackendError("backend_incomplete", label=label)

    def on_data(self, data: str, label: str) -> Iterator[Event]:
        try:
            if data.startswith('{"error"'):
                raise BackendError("backend_reported", label=label, retryable=True)
            chunk = StreamChunk.model_validate_json(data)
        except ValidationError as exc:
            raise BackendProtocolError("backend_unreadable", label=label) from exc
        if chunk.usage is not None:
            self.usage = chunk.usage
        if chunk.swireasoning is not None:
            yield from self._progress(chunk.swireasoning)
        for choice in chunk.choices:
            d = choice.delta
            if (d.reasoning_content or d.content) and self.first_token_at is None:
                self.first_token_at = time.perf_counter()
            if d.reasoning_content:
                yield ReasoningDelta(delta=d.reasoning_content, latent=self.swir.latent)
            if d.content:
                yield AnswerDelta(delta=d.content)
            if choice.finish_reason in ("length", "abort"):
                self.finish = "length" if choice.finish_reason == "length" else "cancelled"

    def _progress(self, raw: dict[str, Any]) -> Iterator[Event]:
        try:
            self.swir = SwiRProgress.model_validate(raw)
        except ValidationError:
            log.warning("skipping a SwiReasoning progress message we cannot read: %.200s", raw)
            return
        for mark in self.swir.switches:
            yield Switch(to=mark.to, step=mark.step, count=mark.count)

    def on_done(self) -> Iterator[Event]:
        u, start = self.usage, self.first_token_at or self.t0
        decode_s = time.perf_counter() - start
        yield Stats(
            prompt_tokens=u.prompt_tokens,
            cached_tokens=u.prompt_tokens_details.cached_tokens if u.prompt_tokens_details else 0,
            completion_tokens=u.completion_tokens,
            reasoning_tokens=u.reasoning_tokens or 0,
            latent_steps=self.swir.latent_tokens,
            switches=self.swir.switch_count,
            ttft_ms=(start - self.t0) * 1000,
            tokens_per_s=(u.completion_tokens - 1) / decode_s if u.completion_tokens > 1 and decode_s > 0 else 0.0,
        )
        yield Done(finish_reason=self.finish)
