"""The SGLang backend against SGLang's exact wire format (the contract server runs the real sglang classes)."""

from __future__ import annotations

import base64
import io
import re
import time

import httpx
import pytest
from PIL import Image

from worker.backends.base import JobContext
from worker.backends.sglang import SGLangBackend
from worker.errors import BackendError, BackendProtocolError, BackendTimeout, BackendUnavailable
from worker.queue.protocol import ChatMessage, ImagePart, JobSpec, Reasoning, Sampling, TextPart

PNG = io.BytesIO()
Image.new("RGB", (16, 16), (0, 128, 255)).save(PNG, format="PNG")
REF = "img:" + "a" * 64
CTX = JobContext(worker="test", load_image=lambda ref: PNG.getvalue())


def backend(url: str, **kw) -> SGLangBackend:
    return SGLangBackend(label="Rio 3.5", served_model="rio-3.5-open-397b", urls=[url], api_key="k", **kw)


def job(text: str, mode: str = "thinking", **sampling) -> JobSpec:
    return JobSpec(
        model="rio-3.5-open-397b",
        messages=[ChatMessage(role="user", content=[TextPart(text=text)])],
        sampling=Sampling(seed=5, top_k=20, min_p=0.05, **sampling),
        reasoning=Reasoning(mode=mode),  # type: ignore[arg-type]
    )


def received(url: str) -> list[dict]:
    return httpx.get(url + "/_test/requests").json()


def test_reasoning_then_answer_with_usage(contract_server):
    events = list(backend(contract_server).execute(job("Tell me about Rio."), CTX))
    types = [e.type for e in events]
    assert types[0] == "started" and types[-2:] == ["stats", "done"]
    assert "".join(e.delta for e in events if e.type == "reasoning") == "Let me think about Rio. "
    assert "".join(e.delta for e in events if e.type == "answer") == "Rio de Janeiro is a city."
    assert types.index("answer") > max(i for i, t in enumerate(types) if t == "reasoning")
    stats = events[-2]
    assert (stats.prompt_tokens, stats.completion_tokens, stats.reasoning_tokens) == (40, 11, 5)
    assert events[-1].finish_reason == "stop"


def test_the_request_carries_every_field_sglang_needs(contract_server):
    spec = job("Fields, please.", mode="swireasoning", max_tokens=77)
    list(backend(contract_server).execute(spec, CTX))
    req = received(contract_server)[-1]
    body = req["body"]
    assert req["authorization"] == "Bearer k"
    assert body["rid"] == spec.id and body["model"] == "rio-3.5-open-397b" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["chat_template_kwargs"] == {"enable_thinking": True}
    assert (body["top_k"], body["min_p"], body["seed"], body["max_tokens"]) == (20, 0.05, 5, 77)
    assert body["custom_params"]["swireasoning"]["max_switch_count"] == 2
    # SGLang carries it into the scheduler's SamplingParams, where the SwiReasoning plugin reads it
    assert req["sampling_params"]["custom_params"]["swireasoning"]["max_switch_count"] == 2


def test_thinking_off_and_prefix_cache_reported_on_a_repeat(contract_server):
    b = backend(contract_server)
    spec = job("The same prompt twice.", mode="off")
    first = list(b.execute(spec, CTX))
    second = list(b.execute(job("The same prompt twice.", mode="off"), CTX))
    assert not [e for e in first if e.type == "reasoning"]
    assert received(contract_server)[-1]["body"]["chat_template_kwargs"] == {"enable_thinking": False}
    assert first[-2].cached_tokens == 0 and second[-2].cached_tokens == 32


def test_images_travel_as_data_urls(contract_server):
    spec = JobSpec(
        model="rio-3.5-open-397b",
        messages=[ChatMessage(role="user", content=[ImagePart(ref=REF), TextPart(text="What is this?")])],
    )
    list(backend(contract_server).execute(spec, CTX))
    parts = received(contract_server)[-1]["body"]["messages"][0]["content"]
    assert parts[0]["type"] == "image_url"
    assert parts[0]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG.getvalue()).decode()


def test_closing_the_stream_aborts_the_request(contract_server):
    spec = job("Take your time [[slow]]")
    events = backend(contract_server).execute(spec, CTX)
    for e in events:
        if e.type == "reasoning":
            break
    events.close()
    assert spec.id in httpx.get(contract_server + "/_test/aborts").json()


@pytest.mark.parametrize(
    ("marker", "error", "message", "retryable"),
    [
        ("[[503]]", BackendUnavailable, "busy or starting up (HTTP 503)", True),
        ("[[drop]]", BackendError, "closed the connection mid-answer", True),
        ("[[malformed]]", BackendProtocolError, "could not read", False),
        ("[[error]]", BackendError, "reported an error while answering", True),
    ],
)
def test_each_failure_is_a_specific_error(contract_server, marker, error, message, retryable):
    before = len(received(contract_server))
    with pytest.raises(error, match=re.escape(message)) as caught:
        list(backend(contract_server).execute(job(f"Fail {marker}"), CTX))
    assert caught.value.retryable is retryable
    attempts = len(received(contract_server)) - before
    assert attempts == (4 if marker == "[[503]]" else 1), "retries only before the first token"


def test_a_hanging_server_times_out(contract_server):
    t0 = time.monotonic()
    with pytest.raises(BackendTimeout, match="did not answer in time"):
        list(backend(contract_server, read_timeout_s=0.5).execute(job("Wait [[hang]]"), CTX))
    assert time.monotonic() - t0 < 10


def test_connection_refused_is_unavailable_and_health_says_why():
    dead = "http://127.0.0.1:9"
    with pytest.raises(BackendUnavailable, match="unreachable"):
        list(backend(dead).execute(job("Anyone?"), CTX))
    assert "unreachable" in (backend(dead).health(dead) or "")
    assert "unreachable" in (backend(dead).down_reason() or "")


def test_health_of_a_live_server(contract_server):
    assert backend(contract_server).health(contract_server) is None
    both = SGLangBackend(label="Rio 3.5", served_model="m", urls=["http://127.0.0.1:9", contract_server], api_key=None)
    assert both.down_reason() is None, "one live replica is enough"


def test_a_retry_sends_a_rid_of_its_own():
    """SGLang refuses a rid it still holds (an abandoned attempt is aborted asynchronously) with HTTP 400."""
    from worker.backends.sglang import attempt_rid

    rids = [attempt_rid("a" * 32, n) for n in range(4)]
    assert rids[0] == "a" * 32 and len(set(rids)) == 4


def test_jobs_rotate_over_the_replicas_and_skip_a_dead_one(contract_server):
    """RIO_SGLANG_URL with replicas: jobs take turns (two names of the one contract server tell them
    apart by the Host header), and a job whose replica is dead before its first token moves on."""
    port = contract_server.rsplit(":", 1)[1]
    names = [f"127.0.0.1:{port}", f"localhost:{port}"]
    replicas = SGLangBackend(label="Rio 3.5", served_model="rio-3.5-open-397b",
                             urls=[f"http://{n}" for n in names], api_key="k")  # fmt: skip
    for text in ("One.", "Two.", "Three."):
        list(replicas.execute(job(text), CTX))
    assert [r["host"] for r in received(contract_server)[-3:]] == [*names, names[0]], "jobs take turns"
    with_dead = SGLangBackend(label="Rio 3.5", served_model="rio-3.5-open-397b",
                              urls=["http://127.0.0.1:9", contract_server], api_key="k")  # fmt: skip
    for text in ("First, sent to the dead replica.", "Second, the same."):
        events = list(with_dead.execute(job(text), CTX))
        assert "".join(e.delta for e in events if e.type == "answer") == "Rio de Janeiro is a city."
