"""A real headless Chromium on the real page: compare with an image, share, open the link; resume after reload."""

from __future__ import annotations

from PIL import Image

from tests.browser.conftest import SHOTS
from tests.browser.test_page_language import accept_notice


def pane_text(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").inner_text()


def messages_text(page, elem_id: str) -> str:
    """A chat pane's messages, without its label line (the panes are labelled differently)."""
    return pane_text(page, elem_id).split("\n", 1)[1].strip()


ANSWERED_NOT_DONE = """() => ['compare-a', 'compare-b'].every(id => {
    const t = document.getElementById(id).innerText, end = t.indexOf('both of you.');
    const after = t.slice(end + 'both of you.'.length).split('\\n').filter(l => l.trim() && !l.startsWith('⏳'));
    return end >= 0 && after.length > 0 && !t.includes('tok/s'); })"""


def test_compare_with_an_image_then_share_and_open_the_link(browser, web, tmp_path):
    img = tmp_path / "green.png"
    Image.new("RGB", (80, 60), (10, 200, 40)).save(img)
    page = browser.new_page(viewport={"width": 1400, "height": 1200}, locale="en-US")
    page.goto(web + "?compare=tiny-random,tiny-random", wait_until="load")  # one engine: both rows advance together
    page.wait_for_selector("#compare-prompt textarea", state="visible", timeout=30_000)
    accept_notice(page)
    page.locator("#compare-prompt input[type=file]").set_input_files(str(img))
    page.wait_for_selector("#compare-prompt img", timeout=15_000)
    page.locator("#compare-prompt textarea").fill("Describe this picture, both of you.")
    page.locator("#compare-prompt textarea").press("Enter")
    # both sides visibly streaming before either has finished: at one moment, each pane shows model output
    # after the prompt (not the label, the prompt or a queue line) and neither has its stats line yet
    page.wait_for_function(ANSWERED_NOT_DONE, timeout=30_000)
    page.screenshot(path=str(SHOTS / "compare-streaming.png"), full_page=True)
    page.wait_for_function(
        "() => ['compare-a', 'compare-b'].every(id => document.getElementById(id).innerText.includes('tok/s'))",
        timeout=180_000,  # the tiny model's SwiReasoning answer on a CPU shared with other jobs
    )
    page.screenshot(path=str(SHOTS / "compare-done.png"), full_page=True)
    a, b = messages_text(page, "compare-a"), messages_text(page, "compare-b")
    page.locator("#share-compare").click()
    page.wait_for_function("() => document.querySelector('#share-link-compare textarea')?.value.includes('?share=')")
    link = page.locator("#share-link-compare textarea").input_value()

    viewer = browser.new_page(viewport={"width": 1400, "height": 1200}, locale="en-US")
    viewer.goto(link, wait_until="load")
    accept_notice(viewer)
    viewer.wait_for_function("() => document.getElementById('shared-info')?.innerText.includes('Comparison of')")
    viewer.wait_for_selector("#shared-a img", state="attached", timeout=15_000)
    viewer.screenshot(path=str(SHOTS / "shared-view.png"), full_page=True)
    assert "tiny-random" in pane_text(viewer, "shared-a") or "tiny-random" in viewer.inner_text("#shared-info")
    for mine, shared in ((a, messages_text(viewer, "shared-a")), (b, messages_text(viewer, "shared-b"))):
        # the prompt, the start of the answer and its exact stats line (the exact round trip of every
        # message is checked through the API in test_compare_share)
        first, last = mine.splitlines()[0], mine.strip().splitlines()[-1]
        assert "tok/s" in last and first in shared and last in shared, (mine, shared)
    assert viewer.locator("#continue").is_visible()
    viewer.close()
    page.close()


def test_reloading_a_running_chat_replays_and_follows_it_to_the_end(browser, web):
    page = browser.new_page(viewport={"width": 1200, "height": 1000}, locale="en-US")
    page.goto(web + "?model=paced", wait_until="load")
    page.wait_for_selector("#prompt textarea", state="visible", timeout=30_000)
    accept_notice(page)
    page.wait_for_function("() => document.querySelector('#model input')?.value.startsWith('paced')")
    page.locator("#prompt textarea").fill("A long steady answer, please.")
    page.locator("#prompt textarea").press("Enter")
    # "steady pace" is the paced backend's answer (the prompt says "steady answer"): only tokens meet the wait
    page.wait_for_function("() => document.getElementById('chat').innerText.includes('steady pace')", timeout=30_000)
    before = pane_text(page, "chat")
    assert "512 tokens" not in before, "reloaded mid-answer"
    # while it streams the box is locked and Stop shown (the page did both as the message left: LOCK_JS)
    assert page.locator("#prompt textarea").is_disabled() and page.locator("#stop").is_visible()
    page.reload(wait_until="load")
    page.wait_for_function("() => document.getElementById('chat')?.innerText.includes('steady pace')",
                           timeout=30_000)  # fmt: skip
    page.screenshot(path=str(SHOTS / "resumed-mid-stream.png"), full_page=True)
    page.wait_for_function("() => document.getElementById('chat').innerText.includes('512 tokens')", timeout=60_000)
    after = pane_text(page, "chat")
    assert "steady" in before and "512 tokens" in after
    page.close()


def test_a_deep_link_wins_over_a_conversation_the_browser_kept(browser, web):
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(web + "?model=paced", wait_until="load")
    page.wait_for_selector("#prompt textarea", state="visible", timeout=30_000)
    page.wait_for_function("() => document.querySelector('#model input')?.value.startsWith('paced')")
    page.locator("#prompt textarea").fill("A long steady answer, please.")
    page.locator("#prompt textarea").press("Enter")
    page.wait_for_function("() => document.getElementById('chat').innerText.includes('steady pace')", timeout=30_000)
    # the chat is still running and kept by the browser; a link to a comparison opens the comparison
    page.goto(web + "?compare=paced,tiny-random", wait_until="load")
    page.wait_for_function(
        """() => document.querySelector('#compare-model-a input')?.value.startsWith('paced')
        && document.querySelector('#compare-model-b input')?.value.startsWith('tiny-random')""",
        timeout=30_000,
    )
    page.wait_for_timeout(3_000)  # a resumed chat would have switched tabs and replayed by now
    assert page.locator("button[role=tab][aria-selected=true]").inner_text().strip() == "Compare"
    assert "steady pace" not in (page.evaluate("document.getElementById('chat')?.textContent") or "")
    page.close()
