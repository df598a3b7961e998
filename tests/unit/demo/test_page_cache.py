"""`PageCache`: the page and its config built once per address, replayed to every browser; what may
differ between browsers (address, query, cookies, encoding) is never shared, nor a response that sets
a cookie or fails."""

from __future__ import annotations

import asyncio
from typing import Any

from demo.page_cache import PageCache


class Page:
    """An ASGI app that answers like Gradio's page routes, slowly, counting what it builds."""

    def __init__(self, status: int = 200, cookie: bool = False) -> None:
        self.built: list[str] = []
        self.status, self.cookie = status, cookie

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        self.built.append(scope["path"])
        headers = dict(scope["headers"])
        await asyncio.sleep(0.05)  # a burst arrives while the first is being built
        extra = [(b"set-cookie", b"a=1")] if self.cookie else []
        await send(
            {"type": "http.response.start", "status": self.status, "headers": [(b"content-type", b"text/html"), *extra]}
        )
        await send({"type": "http.response.body", "body": b"root=" + headers.get(b"host", b"?"), "more_body": True})
        await send({"type": "http.response.body", "body": b" page " + scope["query_string"]})


def scope(path: str = "/", host: bytes = b"a", query: bytes = b"", method: str = "GET", **headers: bytes) -> dict:
    return {"type": "http", "method": method, "path": path, "query_string": query, "scheme": "http", "root_path": "",
            "headers": [(b"host", host), *((k.encode(), v) for k, v in headers.items())]}  # fmt: skip


async def get(cache: PageCache, s: dict) -> tuple[int, bytes]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await cache(s, None, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_a_burst_of_browsers_gets_the_page_built_once():
    async def go() -> None:
        page = Page()
        cache = PageCache(page)
        replies = await asyncio.gather(*(get(cache, scope()) for _ in range(20)))
        assert replies == [(200, b"root=a page ")] * 20 and page.built == ["/"]
        assert await get(cache, scope("/config")) == (200, b"root=a page ") and page.built == ["/", "/config"]
        assert await get(cache, scope()) == (200, b"root=a page ") and len(page.built) == 2

    asyncio.run(go())


def test_what_differs_between_browsers_is_built_for_each():
    async def go() -> None:
        page = Page()
        cache = PageCache(page)
        await get(cache, scope())
        assert await get(cache, scope(host=b"b")) == (200, b"root=b page ")
        assert await get(cache, scope(query=b"deep_link=x")) == (200, b"root=a page deep_link=x")
        await get(cache, scope(cookie=b"session=u1"))
        await get(cache, scope(**{"x-forwarded-proto": b"https"}))
        await get(cache, scope(**{"accept-encoding": b"br"}))
        assert len(page.built) == 6
        await get(cache, scope("/gradio_api/info"))  # not the page: always passed through
        await get(cache, scope("/gradio_api/info"))
        await get(cache, scope(method="HEAD"))
        assert len(page.built) == 9

    asyncio.run(go())


def test_failures_cookies_and_old_pages_are_never_replayed():
    async def go() -> None:
        for page in (Page(status=500), Page(cookie=True)):
            cache = PageCache(page)
            await asyncio.gather(get(cache, scope()), get(cache, scope()))
            await get(cache, scope())
            assert len(page.built) == 3  # the one waiting on a failed build builds its own
        page = Page()
        cache = PageCache(page, ttl_s=0.1)
        await get(cache, scope())
        await asyncio.sleep(0.15)
        await get(cache, scope())
        assert len(page.built) == 2

    asyncio.run(go())
