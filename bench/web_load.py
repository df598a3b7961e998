"""The load generator of `bench.web`: N chat sessions at once, speaking Gradio's queue protocol.

    python -m bench.web_load URL --sessions N --tokens T --interval-s I [--plain --cadence-s C]
    python -m bench.web_load URL --sessions N --page-load

One process, one `httpx.AsyncClient` per session (its own connections, as a browser has): each
POSTs `queue/join` and reads its events from `queue/data` (server-sent events), applying the
streamed diffs to the Chatbot's value as the page does. Prints one JSON object: per-session first
visible token, per-update lag, tokens/s, errors.

With `--page-load`, N browsers-worth of opening the page at once instead: `GET /`, `GET /config`,
then the page's load events joined on the queue as the page joins them (inputs at their config
values), until the last completes: the page is interactive.

Lag: the paced backend emits token k at S + k·I. S is estimated per session as the earliest any
token was shown relative to that schedule (min over tokens of shown_at(k) − k·I), so a token's lag
is how much later than the best-served token of its stream it reached the page (≥ 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

FOOTER = "\n\n<sub>"


def apply_diff(value: Any, diff: list) -> Any:
    """Gradio's streamed diff ops (`replace`, `append`, `add`, `delete`) applied in place."""
    for action, path, item in diff:
        if not path:
            value = item if action == "replace" else value + item
            continue
        target = value
        for step in path[:-1]:
            target = target[step]
        last = path[-1]
        if action == "replace":
            target[last] = item
        elif action == "append":
            target[last] += item
        elif action == "add":
            target.insert(int(last), item) if isinstance(target, list) else target.__setitem__(last, item)
        elif action == "delete":
            del target[int(last) if isinstance(target, list) else last]
    return value


def shown_tokens(messages: list | None) -> int:
    """Words of the last assistant answer shown (each paced token is one word and a space)."""
    for m in reversed(messages or []):
        if m.get("role") != "assistant" or m.get("metadata"):
            continue
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        text = str(content or "").split(FOOTER)[0]
        return 0 if text.startswith("<sub>") else text.count(" ")
    return 0


@dataclass
class Endpoint:
    """The `chat` endpoint as the page calls it: its ids and its inputs in order (None for a State,
    the page's own, else the API parameter's name)."""

    fn_index: int
    trigger_id: int
    inputs: list[str | None]

    def payload(self, values: dict[str, Any], defaults: dict[str, Any]) -> list:
        return [None if name is None else values.get(name, defaults.get(name)) for name in self.inputs]


async def endpoint(client: httpx.AsyncClient, url: str) -> tuple[Endpoint, dict[str, Any]]:
    """The `chat` endpoint, read from the app's config and API description (so the load follows the
    page's inputs as they change), and its parameters' defaults."""
    config = (await client.get(url + "config")).json()
    info = (await client.get(url + "gradio_api/info")).json()["named_endpoints"]["/chat"]["parameters"]
    states = {c["id"] for c in config["components"] if c.get("type") == "state"}
    for dep in config["dependencies"]:
        if dep.get("api_name") == "chat":
            names = iter(p["parameter_name"] for p in info)
            inputs = [None if i in states else next(names) for i in dep["inputs"]]
            return Endpoint(dep["id"], dep["targets"][0][0], inputs), {p["parameter_name"]: p.get(
                "parameter_default") for p in info}  # fmt: skip
    raise RuntimeError("no /chat endpoint")


async def sent(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """The response, its body still to read; sent once more if the connection failed before any of it
    came back, as browsers do for a kept-alive connection the server closed as the request left (under
    a 512-session burst uvicorn closes connections idle for its 5 s keep-alive)."""
    try:
        return await client.send(client.build_request(method, url, **kwargs), stream=True)
    except (httpx.ReadError, httpx.RemoteProtocolError):
        return await client.send(client.build_request(method, url, **kwargs), stream=True)


async def fetched(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    response = await sent(client, method, url, **kwargs)
    await response.aread()
    return response.raise_for_status()


async def session(client: httpx.AsyncClient, url: str, fn: Endpoint, data: list, interval_s: float) -> dict:
    """One chat session to its end: when each new token first showed, and how many updates it got."""
    session_hash = uuid.uuid4().hex[:11]
    t0 = time.monotonic()
    join = {"data": data, "fn_index": fn.fn_index, "trigger_id": fn.trigger_id, "session_hash": session_hash,
            "event_data": None}  # fmt: skip
    await fetched(client, "POST", url + "gradio_api/queue/join", json=join)
    value: Any = None
    shown: list[float] = []  # shown[k]: when token k first appeared
    updates, error = 0, ""
    sse = await sent(client, "GET", url + "gradio_api/queue/data", params={"session_hash": session_hash})
    try:
        async for line in sse.aiter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            kind = msg.get("msg")
            if kind in ("process_generating", "process_completed"):
                out = msg.get("output", {}).get("data") or [None]
                if kind == "process_completed" and not msg.get("success", True):
                    error = str(msg.get("output", {}).get("error"))
                # the first update and the last carry the whole value, the others a diff
                value = out[0] if kind == "process_completed" or not updates else apply_diff(value, out[0] or [])
                updates += 1
                now = time.monotonic()
                shown += [now] * max(0, shown_tokens(value) - len(shown))
            if kind in ("unexpected_error",):
                error = msg.get("message", "unexpected error")
            if kind in ("process_completed", "close_stream", "unexpected_error"):
                break
    finally:
        await sse.aclose()
    return {"session": session_hash, **summarize(shown, t0, updates, error, interval_s)}


async def page_load(client: httpx.AsyncClient, url: str) -> dict:
    """One browser opening the page: seconds until its HTML, config and every load event are done."""
    session_hash = uuid.uuid4().hex[:11]
    t0 = time.monotonic()
    await fetched(client, "GET", url)
    config = (await fetched(client, "GET", url + "config")).json()
    values = {c["id"]: c.get("props", {}).get("value") for c in config["components"]}
    loads = [d for d in config["dependencies"] if any(t[1] == "load" for t in d["targets"])]
    for dep in loads:
        join = {"data": [values.get(i) for i in dep["inputs"]], "fn_index": dep["id"], "trigger_id": None,
                "session_hash": session_hash, "event_data": None}  # fmt: skip
        await fetched(client, "POST", url + "gradio_api/queue/join", json=join)
    pending, error = len(loads), ""
    if pending:
        sse = await sent(client, "GET", url + "gradio_api/queue/data", params={"session_hash": session_hash})
        try:
            async for line in sse.aiter_lines():
                msg = json.loads(line[5:]) if line.startswith("data:") else {}
                if msg.get("msg") == "process_completed":
                    pending -= 1
                    error = error or ("" if msg.get("success", True) else str(msg.get("output", {}).get("error")))
                if msg.get("msg") == "unexpected_error":
                    error, pending = msg.get("message", "unexpected error"), 0
                if pending == 0 or msg.get("msg") == "close_stream":
                    break
        finally:
            await sse.aclose()
    return {"interactive_s": time.monotonic() - t0, "load_events": len(loads), "error": error}


def wall(t: float) -> float:
    """A monotonic time as wall-clock seconds, comparable with the web's hop log (same machine)."""
    return t + time.time() - time.monotonic()


def summarize(shown: list[float], t0: float, updates: int, error: str, interval_s: float) -> dict:
    if not shown:
        return {"first_s": None, "lags_s": [], "tokens": 0, "tokens_per_s": 0.0, "updates": updates,
                "error": error or "no token shown", "joined_at": wall(t0)}  # fmt: skip
    start = min(t - k * interval_s for k, t in enumerate(shown))
    lags = [t - (start + k * interval_s) for k, t in enumerate(shown)]
    span = shown[-1] - shown[0]
    rate = (len(shown) - 1) / span if span > 0 else 0.0
    return {"first_s": shown[0] - t0, "lags_s": lags, "tokens": len(shown), "tokens_per_s": rate,
            "updates": updates, "error": error, "joined_at": wall(t0), "shown_at": wall(shown[0])}  # fmt: skip


def payload(args: argparse.Namespace, fn: Endpoint, defaults: dict[str, Any], n: int) -> list:
    if args.plain:
        return [f"load {n}", args.tokens, args.interval_s, args.cadence_s]
    values = {"message": {"text": f"load {n}", "files": []}, "model": "paced", "reasoning": "off",
              "max_tokens": args.tokens, "seed": 1}  # fmt: skip
    return fn.payload(values, defaults)


def browsers(n: int) -> list[httpx.AsyncClient]:
    """One client per visitor, with a browser's few connections of its own. One client for all of
    them cost the load generator O(visitors) per request (httpcore's pool checks each connection it
    holds): 38 % of its CPU at 64 page loads (py-spy), saturating its core, so the figure measured
    the load generator. One TLS context for all (none is used on plain HTTP; building one each is 24 ms)."""
    tls = ssl.create_default_context()
    return [httpx.AsyncClient(limits=httpx.Limits(max_connections=6), timeout=httpx.Timeout(120.0), verify=tls)
            for _ in range(n)]  # fmt: skip


async def run(args: argparse.Namespace) -> dict:
    clients = browsers(args.sessions)
    try:
        if args.page_load:
            t0 = time.monotonic()
            results = await asyncio.gather(*(page_load(c, args.url) for c in clients), return_exceptions=True)
        else:
            fn, defaults = await endpoint(clients[0], args.url)
            t0 = time.monotonic()
            chats = [session(c, args.url, fn, payload(args, fn, defaults, n), args.interval_s)
                     for n, c in enumerate(clients)]  # fmt: skip
            results = await asyncio.gather(*chats, return_exceptions=True)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    wall = time.monotonic() - t0
    sessions = [r if isinstance(r, dict) else {"error": repr(r), "tokens": 0, "updates": 0} for r in results]
    return {"sessions": sessions, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--interval-s", type=float, default=0.05)
    parser.add_argument("--plain", action="store_true", help="the plain Gradio app's endpoint")
    parser.add_argument("--cadence-s", type=float, default=0.05)
    parser.add_argument("--page-load", action="store_true", help="open the page N times at once instead")
    args = parser.parse_args()
    args.url = args.url.rstrip("/") + "/"
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
