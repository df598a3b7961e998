"""Rendering: a session's turns -> Chatbot messages (thinking collapsed, latent stretches marked)."""

from __future__ import annotations

import html
from typing import Any

from demo.i18n import CATALOG, counted, say, text
from demo.session import ChatSession, Turn
from demo.timeline import build_timeline, timeline_html
from worker.jobs import Stats

LATENT_CLASS = "swir-latent"


def text_part(text: str) -> dict:
    """A Chatbot text message kept verbatim: a bare string goes through `inspect.cleandoc`, which drops
    the common indentation of its later lines (a streamed line "\n )" would show as "\n)" until a
    later line starts at column 0) and with it an indented code block."""
    return {"type": "text", "text": text}


def thinking_html(turn: Turn, lang: str) -> str:
    """Explicit thinking as text; latent stretches dimmed (the model was fed a mixture, not these tokens)."""
    out = []
    title = html.escape(text("render.latent_step", lang))
    for stretch, latent in turn.thinking:
        escaped = html.escape(stretch)
        out.append(f'<span class="{LATENT_CLASS}" title="{title}">{escaped}</span>' if latent else escaped)
    return "".join(out)


def stats_line(stats: Stats | None, turn: Turn, lang: str) -> str:
    if stats is None:
        return ""
    parts = [
        text("render.ttft", lang, ms=stats.ttft_ms),
        text("render.speed", lang, v=stats.tokens_per_s),
        counted("render.token", stats.completion_tokens, lang),
        text("render.prompt", lang, n=stats.prompt_tokens),
    ]
    if stats.reasoning_tokens:
        explicit = stats.reasoning_tokens - stats.latent_steps
        parts.append(text("render.thinking_split", lang, explicit=explicit, latent=stats.latent_steps))
    if stats.switches or turn.switches:
        parts.append(counted("render.switch", stats.switches or turn.switches, lang))
    if stats.cached_tokens:
        parts.append(text("render.prefix_cache", lang, cached=stats.cached_tokens, prompt=stats.prompt_tokens))
    return " · ".join(parts)


def status_text(turn: Turn, lang: str) -> str:
    if turn.error is not None:
        hint = text("render.retry_hint", lang) if turn.error.retryable else ""
        return f"⚠️ {say(turn.error, lang)}{hint}"
    if turn.queue_position is not None and not turn.thinking and not turn.answer:
        ahead = turn.queue_position
        wait = text("render.queue_wait", lang, s=turn.queue_wait_s) if turn.queue_wait_s and ahead else ""
        return text("render.queued_next", lang) if ahead == 0 else text("render.queued", lang, ahead=ahead, wait=wait)
    if turn.running and not turn.thinking and not turn.answer:
        return text("render.starting", lang)
    if turn.finish == "cancelled":
        return text("render.stopped", lang)
    if turn.finish == "length":
        return text("render.cut", lang)
    return ""


def turn_timeline(turn: Turn, lang: str) -> str:
    """The reasoning timeline of a turn that thought (HTML), or nothing."""
    if not turn.thinking:
        return ""
    return timeline_html(build_timeline(turn.stretches(), turn.answer_steps, turn.stats), lang)


def assistant_messages(turn: Turn, lang: str) -> list[dict]:
    msgs: list[dict] = []
    if turn.thinking:
        status = "pending" if turn.running and not turn.answer else "done"
        switches = f" · {counted('render.switch', turn.switches, lang)}" if turn.switches else ""
        title = text("render.thinking", lang) + switches
        meta = {"title": title, "status": status}
        msgs.append({"role": "assistant", "content": text_part(thinking_html(turn, lang)), "metadata": meta})
    body = turn.answer  # markdown; Gradio sanitizes any HTML in it
    if bar := turn_timeline(turn, lang):
        body += ("\n\n" if body else "") + bar
    footer = [s for s in (status_text(turn, lang), stats_line(turn.stats, turn, lang)) if s]
    if footer:
        body += ("\n\n" if body else "") + "\n".join(f"<sub>{html.escape(s)}</sub>" for s in footer)
    if body:
        msgs.append({"role": "assistant", "content": text_part(body)})
    return msgs


def turn_messages(turn: Turn, lang: str) -> list[dict]:
    msgs: list[dict] = []
    for path in turn.image_paths:
        msgs.append({"role": "user", "content": {"path": path, "mime_type": "image/png"}})
    if turn.user_text:
        msgs.append({"role": "user", "content": text_part(turn.user_text)})
    return msgs + assistant_messages(turn, lang)


def chat_messages(session: ChatSession, lang: str | None = None) -> list[Any]:
    """The Chatbot's messages, said in `lang` (the session's language when not given)."""
    return [m for turn in session.turns for m in turn_messages(turn, lang or session.lang)]


def message_turns(session: ChatSession) -> list[tuple[int, str]]:
    """(turn index, role) of each message `chat_messages` shows, in order: the Chatbot's like, retry,
    undo and edit events name a message by its index."""
    return [(i, m["role"]) for i, turn in enumerate(session.turns) for m in turn_messages(turn, session.lang)]


def side_label(model_label: str, mode: str, lang: str = "en") -> str:
    """`model · mode`. Stored names (battle contenders, share records) keep the English form; pages say
    them in the visitor's language from the model key and mode (`Page.label`)."""
    return f"{model_label} · {text(f'mode.{mode}', lang) if f'mode.{mode}' in CATALOG else mode}"


def diff_summary(label_a: str, a: Turn | None, label_b: str, b: Turn | None, lang: str) -> str:
    """One line on how two finished answers differ (thinking used, length, first token)."""
    if a is None or b is None or a.stats is None or b.stats is None:
        return ""
    sa, sb = a.stats, b.stats
    parts = []
    if sa.reasoning_tokens and sb.reasoning_tokens and sa.reasoning_tokens != sb.reasoning_tokens:
        fewer, more = (label_a, label_b) if sa.reasoning_tokens < sb.reasoning_tokens else (label_b, label_a)
        low, high = sorted((sa.reasoning_tokens, sb.reasoning_tokens))
        parts.append(text("render.fewer_thinking", lang, fewer=fewer, more=more, pct=100 * (1 - low / high)))
    elif bool(sa.reasoning_tokens) != bool(sb.reasoning_tokens):
        thinker, n = (label_a, sa.reasoning_tokens) if sa.reasoning_tokens else (label_b, sb.reasoning_tokens)
        parts.append(text("render.only_thought", lang, thinker=thinker, tokens=counted("render.token", n, lang)))
    if sa.ttft_ms and sb.ttft_ms:
        # compared as the footers show them, so the summary never names a winner the footers call a tie
        ms_a, ms_b = round(sa.ttft_ms), round(sb.ttft_ms)
        if ms_a == ms_b:
            parts.append(text("render.first_together", lang, ms=ms_a))
        else:
            first = label_a if ms_a < ms_b else label_b
            parts.append(text("render.answered_first", lang, first=first, a=ms_a, b=ms_b))
    one = sa.completion_tokens == sb.completion_tokens == 1
    parts.append(text("render.tokens_vs_one" if one else "render.tokens_vs", lang, a=sa.completion_tokens,
                      b=sb.completion_tokens))  # fmt: skip
    return "; ".join(parts) + "."
