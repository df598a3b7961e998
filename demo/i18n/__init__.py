"""Every string a visitor reads, in Brazilian Portuguese first and in English.

One catalog per area of the page (`page.py`, `errors.py`, `feedback.py`, ...), each a `STRINGS` dict
`key -> {"pt": ..., "en": ...}` with `{name}` placeholders for parameters; `CATALOG` is their union.
`text(key, lang, **params)` renders one string server-side (streamed texts, errors made from a code);
static labels go through Gradio's own `gr.I18n` (`I18N`, built from CATALOG: the browser's language by
default, the page's switch and `?lang=` change it). `tests/unit/demo/test_i18n.py` checks that both
languages have every key with the same placeholders.
"""

from __future__ import annotations

import string

import gradio as gr

from demo.i18n import errors, feedback, page
from worker.jobs import Error

LANGS = ("pt", "en")  # pt-BR first: the model is the City of Rio's
DEFAULT_LANG = "pt"
API_LANG = "en"  # a request that names no language at all (an API client): the API page's language


def merged(*catalogs: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for catalog in catalogs:
        clash = out.keys() & catalog.keys()
        assert not clash, f"keys defined twice: {sorted(clash)}"
        out.update(catalog)
    return out


CATALOG = merged(page.STRINGS, errors.STRINGS, feedback.STRINGS)


def lang_of(value: str | None) -> str:
    """`pt`, `pt-BR`, `en-US`, ... -> one of LANGS (Portuguese when unknown)."""
    base = (value or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGS else DEFAULT_LANG


def accepted_lang(header: str | None) -> str:
    """The first of LANGS an `Accept-Language` header names (by order of preference); Portuguese for a
    browser that names neither, English for a request that names no language (an API client)."""
    if not header:
        return API_LANG
    for part in header.split(","):
        base = part.split(";")[0].strip().split("-")[0].lower()
        if base in LANGS:
            return base
    return DEFAULT_LANG


class LocalFormatter(string.Formatter):
    """`str.format` with Portuguese number punctuation (1.234,5) when the language is pt."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value: object, format_spec: str) -> str:
        out = super().format_field(value, format_spec)
        if self.lang == "pt" and isinstance(value, int | float) and not isinstance(value, bool):
            out = out.translate(str.maketrans(".,", ",."))
        return out


def text(key: str, lang: str, **params: object) -> str:
    """One string of the catalog in `lang`, its `{placeholders}` filled; a parameter named `*_word`
    holds a `word.` key and is said in `lang` too (one that names no word, a nested field's dotted
    path, is said as it is)."""
    lang = lang_of(lang)
    words = {k: CATALOG.get(f"word.{v}", {}).get(lang, v) if k.endswith("_word") else v for k, v in params.items()}
    return LocalFormatter(lang).format(CATALOG[key][lang], **words)


def counted(key: str, n: int, lang: str, **params: object) -> str:
    """`key_one` for exactly one, else `key`, with `n` among its parameters."""
    return text(f"{key}_one" if n == 1 else key, lang, n=n, **params)


def say(error: Error, lang: str) -> str:
    """An error event's sentence in `lang` (its English message when it came without a key)."""
    if error.key and f"error.{error.key}" in CATALOG:
        return text(f"error.{error.key}", lang, **error.params)
    return error.message


def gradio_i18n() -> gr.I18n:
    """Gradio's translations of every catalog string without parameters (labels, buttons, notes):
    Portuguese under `pt` and `pt-BR` (the locale Gradio picks for a Brazilian browser)."""
    static = {k: v for k, v in CATALOG.items() if "{" not in v["en"]}
    pt = {k: v["pt"] for k, v in static.items()}
    return gr.I18n(en={k: v["en"] for k, v in static.items()}, pt=pt, **{"pt-BR": pt})


I18N = gradio_i18n()
