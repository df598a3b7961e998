"""The web's per-session state (`demo/page_state.py`): a new session builds no block config, yet every
config Gradio's deep link reads is the one Gradio's own session state would have built."""

from __future__ import annotations

import gradio as gr
import pytest
from gradio.blocks import BlocksConfig
from gradio.state_holder import SessionState

from demo.app import build_app
from demo.chat import ChatService
from demo.page_state import PageState, PageStates
from worker.jobs import JobClient, Settings, available, default_pair


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> gr.Blocks:
    var = tmp_path_factory.mktemp("page")
    settings = Settings(paced_model=True, var_dir=var)  # no Redis is reached: the page is only built
    demo = build_app(ChatService(JobClient.from_settings(settings), var / "uploads"), available(settings),
                     default_pair(settings))  # fmt: skip
    demo.config = demo.get_config_file()
    return demo


def built_configs(monkeypatch, make) -> int:
    calls = []
    original = BlocksConfig.config_for_block
    monkeypatch.setattr(BlocksConfig, "config_for_block",
                        staticmethod(lambda *a, **k: calls.append(a[0]) or original(*a, **k)))  # fmt: skip
    make()
    return len(calls)


def test_a_new_session_builds_no_block_config(page, monkeypatch):
    assert built_configs(monkeypatch, lambda: SessionState(page)) > 100  # Gradio's: every block of the page
    assert built_configs(monkeypatch, lambda: PageState(page)) == 0


def updated(state: SessionState, box: gr.MultimodalTextbox, chatbot: gr.Chatbot) -> SessionState:
    """What an event does to a session: a prop update (a locked, emptied box) and a new value."""
    state[box._id] = gr.MultimodalTextbox(**{**box.constructor_args, "interactive": False, "render": False})
    state._update_config(box._id)
    state._update_value_in_config(box._id, None)
    state._update_value_in_config(chatbot._id, [{"role": "user", "content": "oi"}])
    return state


def test_the_deep_link_reads_the_configs_gradio_would_have_built(page):
    box = next(b for b in page.blocks.values() if isinstance(b, gr.MultimodalTextbox))
    chatbot = next(b for b in page.blocks.values() if isinstance(b, gr.Chatbot))
    assert list(PageState(page).components) == list(SessionState(page).components)
    ours, gradios = updated(PageState(page), box, chatbot), updated(SessionState(page), box, chatbot)
    assert list(ours.components) == list(gradios.components)
    assert ours.config_for(box._id)["props"]["interactive"] is False
    assert ours.config_for(chatbot._id)["props"]["value"] == [{"role": "user", "content": "oi"}]


def test_the_holder_gives_each_session_one_page_state(page):
    holder = PageStates()
    holder.set_blocks(page)
    assert isinstance(holder["a"], PageState) and holder["a"] is holder["a"] and holder["b"] is not holder["a"]
