"""The catalog: both languages say every key with the same placeholders, and every sentence `worker/`
can send a visitor (each raise site's key) has a Portuguese and an English form."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from demo.i18n import CATALOG, LANGS, accepted_lang, say, text
from worker import errors
from worker.intake.validation import BOUNDS
from worker.jobs import SENTENCES, WORDS, RioError, keyed_error, placeholders

WORKER = Path(__file__).resolve().parents[3] / "worker"
ERROR_CLASSES = {name for name, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, RioError)}
# the one raise site whose key is a variable: a pydantic bound's sentence, from this table
VARIABLE_KEYS = {("validation.py", "key"): [key for key, _ in BOUNDS.values()]}


def test_both_languages_have_every_key_with_the_same_placeholders():
    for key, forms in CATALOG.items():
        assert set(forms) == set(LANGS), key
        assert all(forms[lang].strip() for lang in LANGS), f"{key}: an empty form"
        assert placeholders(forms["pt"]) == placeholders(forms["en"]), key


def test_every_worker_sentence_and_word_is_in_the_catalog_with_its_english():
    for key, en in SENTENCES.items():
        assert CATALOG[f"error.{key}"]["en"] == en
    for key, en in WORDS.items():
        assert CATALOG[f"word.{key}"]["en"] == en


def sentence_keys(node: ast.expr, file: str = "") -> list[str] | None:
    """The sentence keys an error's first argument can be; None when it is not a literal key."""
    if isinstance(node, ast.Name):
        return VARIABLE_KEYS.get((file, node.id))
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = sentence_keys(node.body), sentence_keys(node.orelse)
        return None if a is None or b is None else a + b
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "plural_key":
        base = sentence_keys(node.args[0])
        return None if base is None else base + [f"{k}_one" for k in base]
    return None


def raised_sentences() -> list[tuple[str, int, list[str] | None]]:
    """Every `SomeError(first, ...)` and `keyed_error(code, key, ...)` call in worker/: file, line, keys."""
    out = []
    for path in WORKER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", "")
            if name in ERROR_CLASSES:
                out.append((path.name, node.lineno, sentence_keys(node.args[0], path.name)))
            elif name == "keyed_error":
                out.append((path.name, node.lineno, sentence_keys(node.args[1])))
    return out


def test_every_error_worker_raises_names_a_sentence_of_the_catalog():
    sites = raised_sentences()
    assert len(sites) > 50, "the scan finds the raise sites"
    for file, line, keys in sites:
        assert keys is not None, f"{file}:{line} raises a sentence without a key"
        for key in keys:
            assert key in SENTENCES and f"error.{key}" in CATALOG, f"{file}:{line}: {key}"


def test_an_error_is_said_in_the_visitors_language():
    error = keyed_error("bad_input", "payload_too_large", retryable=False, mb=12.345, limit=20.0)
    assert say(error, "en") == error.message == "The images add up to 12.3 MB; the limit is 20 MB per message."
    assert say(error, "pt") == "As imagens somam 12,3 MB; o limite é 20 MB por mensagem."
    raised = errors.OverBudget("share_budget_one", limit=1, wait=3, unit_word="minutes")
    assert "1 share link this hour" in raised.message and "in 3 minutes." in raised.message
    assert text("error.share_budget_one", "pt", **raised.params).endswith("em 3 minutos.")


def test_the_language_of_a_request():
    assert accepted_lang("pt-BR,pt;q=0.9,en;q=0.8") == "pt"
    assert accepted_lang("en-US,en;q=0.9") == "en"
    assert accepted_lang("fr-FR,fr;q=0.9,en;q=0.5") == "en"
    assert accepted_lang("de") == "pt" and accepted_lang(None) == "en"


def test_a_model_label_in_the_catalog_is_the_registrys_in_english():
    """Shares and votes store the registry's (English) label; the catalog's English must be that label."""
    from worker.models import REGISTRY

    labels = {e.key: e.label for e in REGISTRY}
    for key in (k for k in CATALOG if k.startswith("model.")):
        assert CATALOG[key]["en"] == labels[key.removeprefix("model.")], key
