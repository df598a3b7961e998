"""A phone (390×844): the conversation, the prompt box and the model/reasoning choice on the first screen, in
chat and in compare; and the data-use notice, shown on a first visit and not again once accepted."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from demo.i18n import text
from tests.browser.conftest import SHOTS
from tests.browser.test_page_language import accept_notice

PHONE = {"width": 390, "height": 844}


def within_first_screen(page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (selector, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (selector, box)


def phone_page(browser, url: str):
    page = browser.new_page(viewport=PHONE, locale="pt-BR", is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto(url, wait_until="load")
    page.wait_for_selector("#data-accept", state="visible", timeout=30_000)
    accept_notice(page)
    return page


@pytest.mark.parametrize(
    ("tab", "conversation", "prompt", "choice"),
    [
        ("chat", ["#chat"], "#prompt", ["#model", "#mode"]),
        ("compare", ["#compare-a", "#compare-b"], "#compare-prompt",
         ["#compare-model-a", "#compare-mode-a", "#compare-model-b", "#compare-mode-b"]),
    ],
)  # fmt: skip
def test_a_phone_shows_conversation_prompt_and_model_choice_on_the_first_screen(browser, web, tab, conversation,
                                                                                prompt, choice):  # fmt: skip
    page = phone_page(browser, web + f"?tab={tab}")
    page.wait_for_selector(prompt, state="visible", timeout=30_000)
    page.wait_for_timeout(500)  # the load's updates (examples, banner) settle the layout
    page.screenshot(path=str(SHOTS / f"phone-{tab}.png"))
    for selector in [*conversation, prompt, *choice]:
        within_first_screen(page, selector)
    top = {s: page.locator(s).first.bounding_box()["y"] for s in [*conversation, prompt, *choice]}
    assert max(top[s] for s in conversation) < top[prompt] < min(top[s] for s in choice), top
    page.close()


def test_the_data_notice_shows_on_a_first_visit_and_not_after_it_was_accepted(browser, web):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="pt-BR")
    page = context.new_page()
    page.goto(web, wait_until="load")
    notice = page.locator("#data-notice")
    notice.wait_for(state="visible", timeout=30_000)
    assert "públicos e permanentes" in notice.inner_text() and "6 h" in notice.inner_text()
    page.screenshot(path=str(SHOTS / "pt-data-notice.png"))
    page.locator("#data-accept").click()
    notice.wait_for(state="hidden")
    page.reload(wait_until="load")
    page.wait_for_function("() => document.querySelector('#storage-note')?.innerText.length > 0", timeout=30_000)
    with pytest.raises(AssertionError):  # the load's decision shows within a moment, if it shows at all
        expect(notice).to_be_visible(timeout=3_000)
    page.get_by_role("button", name=text("page.data_link", "pt")).click()
    notice.wait_for(state="visible")
    context.close()
