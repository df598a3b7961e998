"""The page in the visitor's language: Chromium in pt-BR (and en-US) walks the visible text of every tab and
a shared view and finds none of our strings in the other language; `?lang=` and the switch; math renders."""

from __future__ import annotations

import re

import pytest
from gradio_client import Client

from demo.i18n import CATALOG
from tests.browser.conftest import SHOTS
from tests.support.helpers import value

# every element's own text, placeholders and input values, where the element is shown
VISIBLE_TEXT = """() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
    let own = '';
    for (const n of el.childNodes) if (n.nodeType === 3) own += n.textContent;
    if (own.trim()) out.push(own.trim());
    const ph = el.getAttribute('placeholder');
    if (ph && ph.trim()) out.push(ph.trim());
    if (el.tagName === 'INPUT' && ['text', 'search'].includes(el.type) && el.value) out.push(el.value);
  }
  return out;
}"""
OTHER = {"pt": "en", "en": "pt"}


def foreign_patterns(lang: str) -> list[tuple[str, re.Pattern]]:
    """Our strings in the other language, where they differ from `lang`'s: exact for plain strings, by
    their literal parts for strings with parameters."""
    other = OTHER[lang]
    out = []
    for key, forms in CATALOG.items():
        s = forms[other]
        if s == forms[lang] or len(s.strip()) < 2:
            continue
        parts = re.split(r"\{[^}]*\}", s)
        if len(parts) == 1:
            out.append((key, re.compile(rf"^{re.escape(s.strip())}$")))
        elif sum(len(p.strip()) for p in parts) >= 4:
            out.append((key, re.compile(".+?".join(re.escape(p) for p in parts).strip())))
    return out


def foreign_strings(texts: list[str], lang: str) -> list[tuple[str, str]]:
    pieces = {p.strip(" .") for t in texts for p in re.split(r" · |; |\n", t) if p.strip()} | set(texts)
    return [(key, t) for key, pattern in foreign_patterns(lang) for t in pieces if pattern.search(t)]


@pytest.fixture(scope="module")
def compare_share(web) -> str:
    """A finished comparison (paced, thinking vs off), shared: its `?share=` query."""
    client = Client(web, verbose=False)
    sides = {"model_a": "paced", "reasoning_a": "thinking", "model_b": "paced", "reasoning_b": "off"}
    client.submit({"text": "Olá", "files": []}, **sides, max_tokens=24, api_name="/compare").result()
    link = value(client.predict(api_name="/share_compare"))
    return "?share=" + link.rsplit("=", 1)[1]


def open_page(browser, url: str, locale: str, accept: bool = True, **kw):
    """A new visitor's page, loaded; `accept`: the data-use notice accepted (it covers the page's bottom)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale=locale, **kw)
    page.goto(url, wait_until="load")
    page.wait_for_selector("#prompt textarea", state="attached", timeout=30_000)
    page.wait_for_function("() => document.querySelector('#storage-note')?.innerText.length > 0", timeout=30_000)
    page.wait_for_selector("#data-notice-body", state="visible", timeout=30_000)
    if accept:
        accept_notice(page)
    return page


def accept_notice(page) -> None:
    page.locator("#data-accept").click()
    page.wait_for_selector("#data-notice", state="hidden")


@pytest.mark.parametrize(("locale", "lang"), [("pt-BR", "pt"), ("en-US", "en")])
def test_every_tab_and_a_shared_view_speak_the_browsers_language(browser, web, compare_share, locale, lang):
    page = open_page(browser, web, locale, accept=False)
    found = foreign_strings(page.evaluate(VISIBLE_TEXT), lang)  # the data-use notice too
    accept_notice(page)
    for i in range(4):  # chat, compare, battle, leaderboard
        page.locator("button[role=tab]").nth(i).click()
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / f"{lang}-tab-{i}.png"), full_page=True)
        found += foreign_strings(page.evaluate(VISIBLE_TEXT), lang)
    page.goto(web + compare_share, wait_until="load")  # same browser: the notice stays accepted
    page.wait_for_function("() => document.getElementById('shared-summary')?.innerText.length > 0", timeout=30_000)
    page.screenshot(path=str(SHOTS / f"{lang}-shared.png"), full_page=True)
    texts = page.evaluate(VISIBLE_TEXT)
    found += foreign_strings(texts, lang)
    assert not found, found
    assert any(("1º token em" if lang == "pt" else "TTFT") in t for t in texts), "the stats line is checked"
    page.close()


def test_lang_link_and_the_switch_set_the_whole_page(browser, web):
    page = open_page(browser, web + "?model=paced&lang=en", "pt-BR")
    tabs = page.locator("button[role=tab]").all_inner_texts()
    assert [t.strip() for t in tabs[:4]] == ["Chat", "Compare", "Battle", "Leaderboard"], tabs
    page.wait_for_function("() => document.getElementById('rio-banner').innerText.includes('paced (fixed text')")
    page.locator("#lang-switch label", has_text="Português").click()
    page.wait_for_url(re.compile(r"lang=pt"))
    page.wait_for_function("() => document.getElementById('rio-banner')?.innerText.includes('paced (texto fixo')")
    assert "model=paced" in page.url
    tabs = page.locator("button[role=tab]").all_inner_texts()
    assert [t.strip() for t in tabs[:4]] == ["Conversa", "Comparar", "Batalha", "Classificação"], tabs
    page.goto(web, wait_until="load")  # the choice is remembered
    page.wait_for_url(re.compile(r"lang=pt"))
    page.close()


def test_inline_and_display_math_render_with_katex(browser, web):
    page = open_page(browser, web + "?model=paced", "en-US")
    page.locator("#prompt textarea").fill("Some math, please.")
    page.locator("#prompt textarea").press("Enter")
    page.wait_for_function("() => document.getElementById('chat').innerText.includes('tok/s')", timeout=60_000)
    page.screenshot(path=str(SHOTS / "math.png"), full_page=True)
    # the answer's end gives the box back and hides Stop (the server's last update)
    page.wait_for_function("() => !document.querySelector('#prompt textarea').disabled", timeout=10_000)
    assert not page.locator("#stop").is_visible()
    answer = page.locator("#chat .message.bot").last
    assert answer.locator(".katex-display").count() >= 1, "display math $$r = n/t.$$"
    inline = answer.locator(".katex").count() - answer.locator(".katex-display .katex").count()
    assert inline >= 2, "inline math: $n$ and \\(t\\)"
    assert "$n$" not in answer.inner_text() and "\\(t\\)" not in answer.inner_text()
    page.close()
