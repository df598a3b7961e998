"""Rendering: a session's turns -> Chatbot messages (thinking collapsed, latent stretches marked)."""

from __future__ import annotations

import html
from typing import Any

from demo.i18n import DEFAULT_LANG
from demo.session import ChatSession, Turn
from demo.timeline import build_timeline, timeline_html
from worker.jobs import Stats

LATENT_CLASS = "swir-latent"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "es" if word.endswith("ch") else "s")


def text_part(text: str) -> dict:
    """A Chatbot text message kept verbatim: a bare string goes through `inspect.cleandoc`, which drops
    the common indentation of its later lines (a streamed line "\n )" would show as "\n)" until a
    later line starts at column 0) and with it an indented code block."""
    return {"type": "text", "text": text}


def thinking_html(turn: Turn) -> str:
    """Explicit thinking as text; latent stretches dimmed (the model was fed a mixture, not these tokens)."""
    out = []
    for text, latent in turn.thinking:
        escaped = html.escape(text)
        out.append(f'<span class="{LATENT_CLASS}" title="latent step">{escaped}</span>' if latent else escaped)
    return "".join(out)


def stats_line(stats: Stats | None, turn: Turn) -> str:
    if stats is None:
        return ""
    parts = [
        f"TTFT {stats.ttft_ms:.0f} ms",
        f"{stats.tokens_per_s:.1f} tok/s",
        plural(stats.completion_tokens, "token"),
        f"prompt {stats.prompt_tokens}",
    ]
    if stats.reasoning_tokens:
        explicit = stats.reasoning_tokens - stats.latent_steps
        parts.append(f"thinking {explicit} explicit + {stats.latent_steps} latent")
    if stats.switches or turn.switches:
        parts.append(plural(stats.switches or turn.switches, "switch"))
    if stats.cached_tokens:
        parts.append(f"prefix cache {stats.cached_tokens}/{stats.prompt_tokens}")
    return " · ".join(parts)


def status_text(turn: Turn) -> str:
    if turn.error is not None:
        hint = " Retrying may help." if turn.error.retryable else ""
        return f"⚠️ {turn.error.message}{hint}"
    if turn.queue_position is not None and not turn.thinking and not turn.answer:
        ahead = turn.queue_position
        wait = f" (about {turn.queue_wait_s:.0f} s)" if turn.queue_wait_s and ahead else ""
        return "⏳ Queued: next in line." if ahead == 0 else f"⏳ Queued: {ahead} ahead of you{wait}."
    if turn.running and not turn.thinking and not turn.answer:
        return "⏳ Starting…"
    if turn.finish == "cancelled":
        return "⏹ Stopped."
    if turn.finish == "length":
        return "✂️ Cut at the token limit."
    return ""


def turn_timeline(turn: Turn, lang: str = DEFAULT_LANG) -> str:
    """The reasoning timeline of a turn that thought (HTML), or nothing."""
    if not turn.thinking:
        return ""
    return timeline_html(build_timeline(turn.stretches(), turn.answer_steps, turn.stats), lang)


def assistant_messages(turn: Turn, lang: str = DEFAULT_LANG) -> list[dict]:
    msgs: list[dict] = []
    if turn.thinking:
        status = "pending" if turn.running and not turn.answer else "done"
        title = "Thinking" + (f" · {plural(turn.switches, 'switch')}" if turn.switches else "")
        meta = {"title": title, "status": status}
        msgs.append({"role": "assistant", "content": text_part(thinking_html(turn)), "metadata": meta})
    body = turn.answer  # markdown; Gradio sanitizes any HTML in it
    if bar := turn_timeline(turn, lang):
        body += ("\n\n" if body else "") + bar
    footer = [s for s in (status_text(turn), stats_line(turn.stats, turn)) if s]
    if footer:
        body += ("\n\n" if body else "") + "\n".join(f"<sub>{html.escape(s)}</sub>" for s in footer)
    if body:
        msgs.append({"role": "assistant", "content": text_part(body)})
    return msgs


def turn_messages(turn: Turn, lang: str = DEFAULT_LANG) -> list[dict]:
    msgs: list[dict] = []
    for path in turn.image_paths:
        msgs.append({"role": "user", "content": {"path": path, "mime_type": "image/png"}})
    if turn.user_text:
        msgs.append({"role": "user", "content": text_part(turn.user_text)})
    return msgs + assistant_messages(turn, lang)


def chat_messages(session: ChatSession, lang: str = DEFAULT_LANG) -> list[Any]:
    return [m for turn in session.turns for m in turn_messages(turn, lang)]


def message_turns(session: ChatSession) -> list[tuple[int, str]]:
    """(turn index, role) of each message `chat_messages` shows, in order: the Chatbot's like, retry,
    undo and edit events name a message by its index."""
    return [(i, m["role"]) for i, turn in enumerate(session.turns) for m in turn_messages(turn)]


MODE_NAMES = {"swireasoning": "SwiReasoning", "thinking": "thinking", "off": "no thinking"}


def side_label(model_label: str, mode: str) -> str:
    return f"{model_label} · {MODE_NAMES.get(mode, mode)}"


def diff_summary(label_a: str, a: Turn | None, label_b: str, b: Turn | None) -> str:
    """One line on how two finished answers differ (thinking used, length, first token)."""
    if a is None or b is None or a.stats is None or b.stats is None:
        return ""
    sa, sb = a.stats, b.stats
    parts = []
    if sa.reasoning_tokens and sb.reasoning_tokens and sa.reasoning_tokens != sb.reasoning_tokens:
        fewer, more = (label_a, label_b) if sa.reasoning_tokens < sb.reasoning_tokens else (label_b, label_a)
        low, high = sorted((sa.reasoning_tokens, sb.reasoning_tokens))
        parts.append(f"{fewer} used {100 * (1 - low / high):.0f}% fewer thinking tokens than {more}")
    elif bool(sa.reasoning_tokens) != bool(sb.reasoning_tokens):
        thinker, n = (label_a, sa.reasoning_tokens) if sa.reasoning_tokens else (label_b, sb.reasoning_tokens)
        parts.append(f"only {thinker} thought ({plural(n, 'token')})")
    if sa.ttft_ms and sb.ttft_ms:
        first = label_a if sa.ttft_ms <= sb.ttft_ms else label_b
        parts.append(f"{first} answered first (TTFT {sa.ttft_ms:.0f} vs {sb.ttft_ms:.0f} ms)")
    one = sa.completion_tokens == sb.completion_tokens == 1
    parts.append(f"{sa.completion_tokens} vs {sb.completion_tokens} token{'' if one else 's'}")
    return "; ".join(parts) + "."
