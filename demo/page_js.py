"""The page's language in the browser: one early script and the switch's navigation.

Gradio translates `gr.I18n` labels in the browser, in the locale it reads once from `navigator.language`
when it starts, and its tab bar does not redraw on a later locale change. So the language is settled
before Gradio starts and never changed in place: the switch reloads the page with `?lang=xx` (the other
query parameters kept), and `EarlyScript` puts LANG_SCRIPT ahead of Gradio's own script in the page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

CHOICE_KEY = "rio-lang"  # localStorage: the switch's last choice

# `?lang=` wins; else the switch's remembered choice (written into the address, so the server's texts
# follow it too); else the first of the browser's languages we have, else Portuguese (as the server's
# Accept-Language rule). Gradio then starts in that locale.
LANG_SCRIPT = f"""<script>(() => {{
  const url = new URL(location.href);
  let lang = url.searchParams.get('lang');
  const kept = localStorage.getItem('{CHOICE_KEY}');
  if (!lang && kept) {{ lang = kept; url.searchParams.set('lang', kept); history.replaceState(null, '', url); }}
  if (!lang) lang = (navigator.languages || [navigator.language]).map((x) => x.slice(0, 2))
    .find((x) => x === 'pt' || x === 'en') || 'pt';
  const locale = lang.startsWith('en') ? 'en' : 'pt-BR';
  Object.defineProperty(navigator, 'language', {{ get: () => locale, configurable: true }});
  Object.defineProperty(navigator, 'languages', {{ get: () => [locale], configurable: true }});
  document.documentElement.lang = locale;
}})();</script>"""

# The switch's `input` (a person's click, not the value set on load): remember, then reload in it.
SWITCH_JS = f"""
(lang) => {{
  localStorage.setItem('{CHOICE_KEY}', lang);
  const url = new URL(location.href);
  url.searchParams.set('lang', lang);
  location.assign(url.toString());
  return [lang];
}}
"""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class EarlyScript:
    """ASGI middleware: the page's HTML (GET `/`) gets LANG_SCRIPT right after `<head>`, before the
    module script Gradio starts from. Every other response passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def held(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if not is_html(start):
                if start:
                    await send(dict(start))
                    start.clear()
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                await send_with_script(start, b"".join(chunks), send)

        await self.app(scope, receive, held)


def is_html(start: Message) -> bool:
    headers = dict(start.get("headers", []))
    return (
        bool(start)
        and headers.get(b"content-type", b"").startswith(b"text/html")
        and b"content-encoding" not in headers
    )


async def send_with_script(start: Message, body: bytes, send: Send) -> None:
    body = body.replace(b"<head>", b"<head>" + LANG_SCRIPT.encode(), 1)
    headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
    await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# The prompt box locked and Stop shown in the browser the moment a chat message is sent (a js-only
# event beside the chat event): the server's opening update then carries values only, where a prop
# update made Gradio construct both components anew on the server (~0.35 ms each, in every chat's
# path to its first token). The answer's end unlocks from the server, which knows whether the turn
# still holds the page (a retry or edit may have replaced it).
LOCK_JS = "() => [{__type__: 'update', interactive: false}, {__type__: 'update', visible: true}]"
# ...and given back by the page itself if the chat event fails outright (an error, not a refusal: a
# refusal is an answer, and its update unlocks), so a failure never leaves the box locked.
UNLOCK_JS = "() => [{__type__: 'update', interactive: true}, {__type__: 'update', visible: false}]"
