"""The load generator of `bench.web`: N chat sessions at once, speaking Gradio's queue protocol.

    python -m bench.web_load URL --sessions N --tokens T --interval-s I [--plain --cadence-s C]

One process, one `httpx.AsyncClient`: each session POSTs `queue/join` and reads its events from
`queue/data` (server-sent events), applying the streamed diffs to the Chatbot's value as the page
does. Prints one JSON object: per-session first visible token, per-update lag, tokens/s, errors.

Lag: the paced backend emits token k at S + k·I. S is estimated per session as the earliest any
token was shown relative to that schedule (min over tokens of shown_at(k) − k·I), so a token's lag
is how much later than the best-served token of its stream it reached the page (≥ 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

import httpx

from demo.knobs import KNOBS

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


async def dependency(client: httpx.AsyncClient, url: str) -> tuple[int, int]:
    """(fn_index, trigger id) of the `chat` endpoint."""
    config = (await client.get(url + "config")).json()
    for dep in config["dependencies"]:
        if dep.get("api_name") == "chat":
            return dep["id"], dep["targets"][0][0]
    raise RuntimeError("no /chat endpoint")


async def session(client: httpx.AsyncClient, url: str, fn: tuple[int, int], data: list, interval_s: float) -> dict:
    """One chat session to its end: when each new token first showed, and how many updates it got."""
    session_hash = uuid.uuid4().hex[:11]
    t0 = time.monotonic()
    join = {"data": data, "fn_index": fn[0], "trigger_id": fn[1], "session_hash": session_hash, "event_data": None}
    response = await client.post(url + "gradio_api/queue/join", json=join)
    response.raise_for_status()
    value: Any = None
    shown: list[float] = []  # shown[k]: when token k first appeared
    updates, error = 0, ""
    async with client.stream("GET", url + "gradio_api/queue/data", params={"session_hash": session_hash}) as sse:
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
    return summarize(shown, t0, updates, error, interval_s)


def summarize(shown: list[float], t0: float, updates: int, error: str, interval_s: float) -> dict:
    if not shown:
        return {"first_s": None, "lags_s": [], "tokens": 0, "tokens_per_s": 0.0, "updates": updates,
                "error": error or "no token shown"}  # fmt: skip
    start = min(t - k * interval_s for k, t in enumerate(shown))
    lags = [t - (start + k * interval_s) for k, t in enumerate(shown)]
    span = shown[-1] - shown[0]
    rate = (len(shown) - 1) / span if span > 0 else 0.0
    return {"first_s": shown[0] - t0, "lags_s": lags, "tokens": len(shown), "tokens_per_s": rate,
            "updates": updates, "error": error}  # fmt: skip


def payload(args: argparse.Namespace, n: int) -> list:
    if args.plain:
        return [f"load {n}", args.tokens, args.interval_s, args.cadence_s]
    message = {"text": f"load {n}", "files": []}
    knobs = {k.name: k.default for k in KNOBS} | {"max_tokens": args.tokens, "seed": 1}
    return [message, None, "paced", "off", *knobs.values()]  # /chat's inputs: message, session, model, reasoning, knobs


async def run(args: argparse.Namespace) -> dict:
    limits = httpx.Limits(max_connections=args.sessions * 2 + 16, max_keepalive_connections=args.sessions * 2)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120.0)) as client:
        fn = await dependency(client, args.url)
        t0 = time.monotonic()
        results = await asyncio.gather(
            *(session(client, args.url, fn, payload(args, n), args.interval_s) for n in range(args.sessions)),
            return_exceptions=True,
        )
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
    args = parser.parse_args()
    args.url = args.url.rstrip("/") + "/"
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
