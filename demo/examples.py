"""Clickable example prompts on an empty chat (chat, and compare's pane A), in the page's language.

Gradio's Chatbot shows `examples` while it has no messages; a click (`example_select`) puts the example in
the prompt box and sends it. Compare's SwiReasoning examples also set the sides to one model with
SwiReasoning on and off (math and logic puzzles are where switching between explicit and latent
thinking saves the most tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio.components.chatbot import ExampleMessage

from demo.i18n import text


@dataclass(frozen=True)
class Example:
    key: str  # its prompt is the catalog's `example.<key>`
    image: str | None = None  # a file drawn by demo/example_images.py
    swir: bool = False  # compare: one model, SwiReasoning on vs off


CHAT_EXAMPLES = (Example("chart", "chart.png"), Example("receipt", "receipt.png"), Example("diagram", "diagram.png"),
                 Example("map", "map.png"), Example("math"), Example("logic"), Example("rio"))  # fmt: skip
COMPARE_EXAMPLES = (Example("math", swir=True), Example("logic", swir=True), Example("receipt", "receipt.png"),
                    Example("map", "map.png"), Example("rio"))  # fmt: skip


def shown(examples: tuple[Example, ...], folder: Path, lang: str) -> list[ExampleMessage]:
    """Gradio's `ExampleMessage`s: the prompt, its picture, and a label saying what a SwiReasoning one shows."""
    out = []
    for e in examples:
        prompt = text(f"example.{e.key}", lang)
        message = ExampleMessage(text=prompt, files=[str(folder / e.image)] if e.image else [])
        if e.swir:
            message["display_text"] = f"{text('example.swir_note', lang)}: {prompt}"
        out.append(message)
    return out


def picked(examples: tuple[Example, ...], folder: Path, evt: gr.SelectData, lang: str) -> tuple[Example, dict]:
    """The example a click chose and the prompt box's value for it (in the page's language)."""
    e = examples[evt.index if isinstance(evt.index, int) else evt.index[0]]
    message = shown((e,), folder, lang)[0]
    return e, {"text": message.get("text", ""), "files": message.get("files", [])}
