"""Adapter from a Hugging Face tokenizer to `SwiRConfig`: anchors, math ids, forced words."""

from __future__ import annotations

import re
import string
from dataclasses import replace

from swireasoning.controller import SwiRConfig

CONVERGENCE_WORDS = "</think>"  # run.py:458 for Qwen models
TERMINATION_WORDS = "</think>\n\nThe final answer is"
_MATH_CHARS = set(string.digits + string.ascii_letters + "+-*/=<>^_()[]{}|!.,:;%'\\")
_LATEX_COMMAND = re.compile(r"^\\[A-Za-z]+$")


def math_ids(tokenizer) -> tuple[int, ...]:
    """Tokens always fed explicitly: single letters, digits, operators and LaTeX commands.

    Mirrors the categories of the official `get_math_symbols_ids` (generation_utils.py:108-132):
    LaTeX commands, operators, digits, a-z and A-Z."""
    ids = []
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id]).strip()
        if not text or token_id in tokenizer.all_special_ids:
            continue
        single = len(text) == 1 and text in _MATH_CHARS
        if single or text.isdigit() or _LATEX_COMMAND.match(text) or (set(text) <= set("+-*/=<>^_|!")):
            ids.append(token_id)
    return tuple(ids)


def _token_id(tokenizer, token: str) -> int:
    found = tokenizer.convert_tokens_to_ids(token)
    return int(found) if found is not None else int(tokenizer.unk_token_id or 0)


def swir_config(tokenizer, eos_ids: tuple[int, ...], **params) -> SwiRConfig:
    """The official setup (l.232-268): anchors by `convert_tokens_to_ids`, including its "\\n" lookup."""
    base = SwiRConfig(
        think_id=_token_id(tokenizer, "<think>"),
        end_think_id=_token_id(tokenizer, "</think>"),
        linebreak_id=_token_id(tokenizer, "\\n"),  # the two characters backslash-n: the official bug
        newline_id=tokenizer.encode("\n", add_special_tokens=False)[-1],
        eos_ids=eos_ids,
        math_ids=math_ids(tokenizer),
        convergence_ids=tuple(tokenizer.encode(CONVERGENCE_WORDS, add_special_tokens=False)),
        termination_ids=tuple(tokenizer.encode(TERMINATION_WORDS, add_special_tokens=False)),
    )
    return replace(base, **params)
