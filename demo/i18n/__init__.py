"""Every string a visitor reads, in Brazilian Portuguese first and in English.

One catalog per area of the page (`page.py`, `feedback.py`, ...), each a `STRINGS` dict
`key -> {"pt": ..., "en": ...}` with `{name}` placeholders for parameters; `CATALOG` is their union.
`text(key, lang, **params)` renders one string server-side (streamed texts, errors made from a code);
static labels go through Gradio's own `gr.I18n` (the browser's language by default).
`tests/unit/demo/test_i18n.py` checks that both languages have every key with the same placeholders.
"""

from __future__ import annotations

from demo.i18n import feedback, page

LANGS = ("pt", "en")  # pt-BR first: the model is the City of Rio's
DEFAULT_LANG = "pt"


def merged(*catalogs: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for catalog in catalogs:
        clash = out.keys() & catalog.keys()
        assert not clash, f"keys defined twice: {sorted(clash)}"
        out.update(catalog)
    return out


CATALOG = merged(page.STRINGS, feedback.STRINGS)


def lang_of(value: str | None) -> str:
    """`pt`, `pt-BR`, `en-US`, ... -> one of LANGS (Portuguese when unknown)."""
    base = (value or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGS else DEFAULT_LANG


def text(key: str, lang: str, **params: object) -> str:
    """One string of the catalog in `lang`, its `{placeholders}` filled."""
    return CATALOG[key][lang_of(lang)].format(**params)
