"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gradio_client import Client, handle_file

FOOTER = re.compile(r"\n*(<sub>.*?</sub>\n?)+$", re.S)
TIMELINE = re.compile(r'\n*<div class="swir-timeline".*?</div><span class="swir-sr-only">.*?</span>', re.S)
DEFAULTS = {"model": "tiny-random", "reasoning": "thinking", "temperature": 0.6, "top_p": 0.95, "top_k": 20,
            "max_tokens": 64, "seed": 1, "max_switch_count": 2, "alpha0": 1.0, "window": 512}  # fmt: skip


def chat(client: Client, text: str, files: list[str] = (), **params):  # type: ignore[assignment]
    message = {"text": text, "files": [handle_file(f) for f in files]}
    return client.submit(message, **{**DEFAULTS, **params}, api_name="/chat")


def text_of(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if part.get("type") == "text")
    return str(content)


@dataclass
class Rendered:
    thinking: str
    answer: str
    footer: str
    timeline: str = ""  # the reasoning timeline under the answer (demo/timeline.py)


def last_answer(messages: list[dict]) -> Rendered:
    """The last assistant turn as rendered: thinking block, answer body, footer (status + stats)."""
    thinking, body = "", ""
    for m in reversed(messages):
        if m["role"] != "assistant":
            break
        if m.get("metadata") and m["metadata"].get("title", "").startswith("Thinking"):
            thinking = text_of(m)
        else:
            body = text_of(m)
    timeline = TIMELINE.search(body)
    body = TIMELINE.sub("", body)
    footer = FOOTER.search(body)
    return Rendered(thinking, FOOTER.sub("", body), footer.group(0) if footer else "",
                    timeline.group(0).strip() if timeline else "")  # fmt: skip


def tokens_within(footer: str, limit: int) -> int:
    """The footer's token count for the tiny model, whose end (EOS) no test chooses: between 1 and `limit`,
    and `limit` when the footer says it was cut there. No error."""
    match = re.search(r"(\d+) tokens", footer)
    assert match and "⚠️" not in footer, footer
    n = int(match.group(1))
    assert 1 <= n <= limit and ("Cut at the token limit" not in footer or n == limit), footer
    return n


def value(output):
    """A component's value from an output that may be a `gr.update`-style dict."""
    return output.get("value") if isinstance(output, dict) and "__type__" in output else output
