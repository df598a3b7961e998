"""The page and its config, built once per address and replayed to every browser that opens it.

Gradio builds `GET /` (the HTML with the page's config and API description inside) and `GET /config`
afresh for every request: a deep copy of the whole config, a walk over it to set the root URL, the
API description, a template render. For this four-tab page that is most of a page load's CPU, and 64
browsers opening the page at once waited 5 s for an interactive page where a plain Gradio app took
0.45 s (`bench.web`, py-spy). Both responses depend only on the request's address (host, scheme,
forwarding headers, root path), its query, its encoding and its cookies, so `PageCache` keeps each
finished response under those for `ttl_s`; requests that arrive while one is being built wait for
it instead of building their own.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any

from demo.page_js import ASGIApp, Message, Receive, Scope, Send

CACHED_PATHS = ("/", "/config")
# What Gradio reads to build them: the root URL (gradio/route_utils.py get_request_origin), the
# signed-in user (auth, OAuth), the compression the middleware picks.
KEY_HEADERS = (b"host", b"x-forwarded-host", b"x-forwarded-proto", b"x-gradio-server", b"accept-encoding",
               b"cookie", b"authorization")  # fmt: skip
Key = tuple[Any, ...]


def cache_key(scope: Scope) -> Key:
    headers = dict(scope.get("headers", []))
    return (scope["path"], scope.get("query_string", b""), scope.get("scheme"), scope.get("root_path", ""),
            *(headers.get(h) for h in KEY_HEADERS))  # fmt: skip


def complete_and_plain(messages: list[Message]) -> bool:
    """A whole 200 response that sets no cookie: one that may be replayed to another browser."""
    if not messages or messages[0].get("type") != "http.response.start" or messages[0].get("status") != 200:
        return False
    if any(name.lower() == b"set-cookie" for name, _ in messages[0].get("headers", [])):
        return False
    last = messages[-1]
    return last.get("type") == "http.response.body" and not last.get("more_body", False)


async def replay(messages: list[Message], send: Send) -> None:
    for message in messages:
        await send(dict(message))


class PageCache:
    """ASGI middleware: GET `/` and `/config` built once per key (`cache_key`) and replayed."""

    def __init__(self, app: ASGIApp, ttl_s: float = 60.0, size: int = 32) -> None:
        self.app = app
        self.ttl_s = ttl_s
        self.size = size
        self.kept: OrderedDict[Key, tuple[float, list[Message]]] = OrderedDict()
        self.building: dict[Key, asyncio.Future[list[Message] | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in CACHED_PATHS:
            await self.app(scope, receive, send)
            return
        key = cache_key(scope)
        kept = self.kept.get(key)
        if kept is not None and time.monotonic() - kept[0] < self.ttl_s:
            await replay(kept[1], send)
            return
        if key in self.building:
            messages = await asyncio.shield(self.building[key])
            if messages is not None:
                await replay(messages, send)
                return
        await self.build(key, scope, receive, send)

    async def build(self, key: Key, scope: Scope, receive: Receive, send: Send) -> None:
        built: asyncio.Future[list[Message] | None] = asyncio.get_running_loop().create_future()
        self.building.setdefault(key, built)
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(dict(message))
            await send(message)

        try:
            await self.app(scope, receive, keep)
        finally:
            plain = complete_and_plain(messages)
            built.set_result(messages if plain else None)
            if self.building.get(key) is built:
                del self.building[key]
            if plain:
                self.kept[key] = (time.monotonic(), messages)
                self.kept.move_to_end(key)
                while len(self.kept) > self.size:
                    self.kept.popitem(last=False)
