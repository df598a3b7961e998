"""An empty chat offers examples in the page's language; one with a picture (drawn by the project) is sent
on a click and answered; compare's SwiReasoning examples set one model with SwiReasoning on and off."""

from __future__ import annotations

from demo.i18n import text
from tests.browser.conftest import SHOTS
from tests.browser.test_page_language import open_page

EXAMPLE = "[class*=example]:is(button)"  # Gradio's Chatbot draws each example as a button


def test_an_example_with_a_picture_is_sent_and_answered(browser, web):
    page = open_page(browser, web + "?model=paced", "pt-BR")
    chart = page.locator(f"#chat {EXAMPLE}", has_text=text("example.chart", "pt")[:30])
    chart.wait_for(timeout=30_000)
    assert page.locator(f"#chat {EXAMPLE} img").count() >= 4, "the chart, receipt, diagram and map"
    page.screenshot(path=str(SHOTS / "pt-chat-examples.png"), full_page=True)
    chart.click()
    page.wait_for_selector("#chat .message.user img", timeout=30_000)
    page.wait_for_function("() => document.getElementById('chat').innerText.includes('tokens/s')", timeout=60_000)
    assert text("example.chart", "pt") in page.locator("#chat").inner_text()
    page.screenshot(path=str(SHOTS / "pt-chat-example-answered.png"), full_page=True)
    page.close()


def test_a_swireasoning_example_compares_it_on_and_off(browser, web):
    page = open_page(browser, web + "?compare=paced,tiny-random&lang=en", "pt-BR")
    page.locator("button[role=tab]").nth(1).click()
    logic = page.locator(f"#compare-a {EXAMPLE}", has_text=text("example.swir_note", "en"))
    logic.first.wait_for(timeout=30_000)
    logic.first.click()
    page.wait_for_function(
        "() => ['compare-a', 'compare-b'].every(id => document.getElementById(id).innerText.includes('tok/s'))",
        timeout=60_000,
    )
    labels = [page.locator(f"#{pane} [data-testid=block-label]").inner_text() for pane in ("compare-a", "compare-b")]
    assert "paced" in labels[0] and "SwiReasoning" in labels[0], labels
    assert "paced" in labels[1] and "thinking" in labels[1], labels
    page.close()
