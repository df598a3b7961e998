"""Gradio's per-session state, with each block's config built when something reads it.

For every new session Gradio builds the config of every block on the page (what its "deep link"
button saves), and again for a block each time an event updates its props. On this four-tab page
that is ~9 ms of the event loop per session (148 blocks, mostly `inspect.signature` of each
constructor), paid when a visitor's first event joins the queue: a burst of 64 newcomers waited
~0.6 s on it before the first handler ran (py-spy, `bench.web`). The only reader of those configs is
`/gradio_api/deep_link`, so `PageState` builds a block's config when it is read, from the session's
block as it is then, with the last value an event gave it: the same configs, none built up front.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import gradio as gr
from gradio.state_holder import SessionState, StateHolder


class PageState(SessionState):
    """A session's state; `config_values` holds only the configs built so far (see `config_for`)."""

    def __init__(self, blocks: gr.Blocks) -> None:
        super().__init__(SimpleNamespace(default_config=blocks.default_config, blocks={}))  # type: ignore[arg-type]  # builds none
        self.config_ids = [k for k in self.blocks_config.blocks if k in blocks.blocks]
        self.values: dict[int, Any] = {}  # each block's last value from an event, applied to its config

    def config_for(self, key: int) -> dict:
        if key not in self.config_values:
            self.config_values[key] = self.blocks_config.config_for_block(key, [], self.blocks_config.blocks[key])
        config = self.config_values[key]
        if key in self.values and "props" in config:
            config["props"]["value"] = self.values[key]
        return config

    def __setitem__(self, key: int, value: Any) -> None:  # Gradio's, less the config built at once
        block = self.blocks_config.blocks.get(key)
        if isinstance(block, gr.State):
            self._state_ttl[key] = (block.time_to_live, datetime.datetime.now())
            self.state_data[key] = value
        else:
            self.blocks_config.blocks[key] = value
        self.config_values.pop(key, None)

    def _update_config(self, key: int) -> None:
        self.config_values.pop(key, None)

    def _update_value_in_config(self, key: int, value: Any) -> None:
        self.values[key] = value

    @property
    def components(self) -> Iterator[dict]:
        for key in self.config_ids:
            if config := self.config_for(key):
                yield config


class PageStates(StateHolder):
    """Gradio's holder of sessions, each a `PageState`."""

    def __getitem__(self, session_id: str) -> SessionState:
        if session_id not in self.session_data:
            self.session_data[session_id] = PageState(self.blocks)
        return super().__getitem__(session_id)


def hold_sessions_lazily(demo: gr.Blocks) -> None:
    """Put a `PageStates` where the running app and the page look for their sessions (at startup,
    before the first request)."""
    holder = PageStates()
    holder.set_blocks(demo)
    demo.server_app.state_holder = holder  # set by launch()
