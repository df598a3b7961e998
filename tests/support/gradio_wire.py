"""Gradio's queue protocol spoken directly (join, then server-sent events), for events that
`gradio_client` cannot call: the page's private `load` event, fed the browser's saved state."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from bench.web_load import apply_diff


def config(url: str) -> dict:
    return httpx.get(url.rstrip("/") + "/config", timeout=30).json()


def component_id(cfg: dict, elem_id: str) -> int:
    return next(c["id"] for c in cfg["components"] if c.get("props", {}).get("elem_id") == elem_id)


def load_event(cfg: dict, input_id: int) -> dict:
    """The page-load dependency that takes `input_id` (the resume state) as its one input."""
    return next(d for d in cfg["dependencies"] if d["inputs"] == [input_id] and d["targets"][0][1] == "load")


def run_event(url: str, dep: dict, data: list[Any], query: dict[str, str] | None = None, *,
              session_hash: str | None = None, event_data: dict | None = None, final_only: bool = False
              ) -> Iterator[list[Any]]:  # fmt: skip
    """Every output of the event, whole (diffs applied), after each update, to its end; `query` is
    the page address's query string, as the handler's request sees it; `session_hash` joins the session
    of a `gradio_client.Client` (its State), `event_data` is what the browser sends with the event
    (a Chatbot's like, retry, undo or edit); `final_only` yields only the last, whole outputs."""
    base = url.rstrip("/") + "/gradio_api/queue/"
    session_hash = session_hash or uuid.uuid4().hex[:11]
    with httpx.Client(timeout=60) as client:
        join = {"data": data, "fn_index": dep["id"], "trigger_id": dep["targets"][0][0],
                "session_hash": session_hash, "event_data": event_data}  # fmt: skip
        client.post(base + "join", json=join, params=query).raise_for_status()
        values: list[Any] | None = None
        with client.stream("GET", base + "data", params={"session_hash": session_hash}) as sse:
            for line in sse.iter_lines():
                msg = json.loads(line[5:]) if line.startswith("data:") else {}
                if msg.get("msg") == "process_generating" and final_only:
                    continue
                if msg.get("msg") in ("process_generating", "process_completed"):
                    assert msg.get("success", True), msg
                    out = msg["output"]["data"]
                    whole = values is None or msg["msg"] == "process_completed"
                    values = out if whole else [apply_diff(v, d) for v, d in zip(values, out, strict=True)]
                    yield values
                if msg.get("msg") in ("process_completed", "close_stream", "unexpected_error"):
                    assert msg.get("msg") != "unexpected_error", msg
                    return


def chatbot_event(cfg: dict, elem_id: str, event: str) -> dict:
    """The dependency a Chatbot's own event (like, retry, undo, edit) triggers."""
    target = component_id(cfg, elem_id)
    return next(d for d in cfg["dependencies"] if [target, event] in [list(t) for t in d["targets"]])


def api_event(cfg: dict, api_name: str) -> dict:
    return next(d for d in cfg["dependencies"] if d.get("api_name") == api_name)


class WireSession:
    """Several events of one Gradio session, read from the session's one server-sent event stream: two
    readers of one session (a `gradio_client` and `run_event`, say) split its messages between them."""

    def __init__(self, url: str) -> None:
        self.base = url.rstrip("/") + "/gradio_api/queue/"
        self.session_hash = uuid.uuid4().hex[:11]
        self.http = httpx.Client(timeout=60)
        self.values: dict[str, list[Any]] = {}

    def join(self, dep: dict, data: list[Any], event_data: dict | None = None) -> str:
        """Send the event; its id (its messages carry it)."""
        join = {"data": data, "fn_index": dep["id"], "trigger_id": dep["targets"][0][0],
                "session_hash": self.session_hash, "event_data": event_data}  # fmt: skip
        resp = self.http.post(self.base + "join", json=join)
        resp.raise_for_status()
        return str(resp.json()["event_id"])

    def updates(self) -> Iterator[tuple[str, bool, list[Any]]]:
        """(event id, completed, its whole outputs) for every update of every event joined, in arrival order,
        until the server closes the session's stream (no event of it left running)."""
        with self.http.stream("GET", self.base + "data", params={"session_hash": self.session_hash}) as sse:
            for line in sse.iter_lines():
                msg = json.loads(line[5:]) if line.startswith("data:") else {}
                kind = msg.get("msg")
                assert kind != "unexpected_error", msg
                if kind == "close_stream":
                    return
                if kind in ("process_generating", "process_completed"):
                    assert msg.get("success", True), msg
                    eid, out = str(msg["event_id"]), msg["output"]["data"]
                    before = self.values.get(eid)
                    whole = before is None or kind == "process_completed"
                    self.values[eid] = out if whole else [apply_diff(v, d) for v, d in zip(before, out, strict=True)]
                    yield eid, kind == "process_completed", self.values[eid]

    def close(self) -> None:
        self.http.close()
