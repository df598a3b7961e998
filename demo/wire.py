"""Streamed page updates in Gradio's wire form, made in the event loop; and inputs taken from it.

Per streamed update Gradio postprocesses every output in a worker thread (one thread hop each) and
rebuilds the config of every State it is given. Events registered with `postprocess=False` skip
both; their handlers pass each value through `wire`, which calls the component's own `postprocess`
inline (microseconds for a Chatbot), so the page receives exactly what Gradio would have sent. The
session State is mutated in place and never an output of these events.

Likewise Gradio preprocesses every input of an event in a worker thread, one hop each: eleven for a
chat message (the box, the model, the mode, eight knobs), 7 % of the web's CPU in a burst of 64 new
chats (py-spy). Events registered with `preprocess=False` get each input as sent (validated, its
files moved to Gradio's cache, as before); their handlers pass it through `unwire`, which calls the
component's own `preprocess` inline, so the handler gets exactly what Gradio would have given it."""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.blocks import Block
from gradio.data_classes import GradioModel, GradioRootModel
from gradio.utils import is_prop_update


def wire(updates: dict[Any, Any]) -> dict[Any, Any]:
    """The same updates, each value postprocessed by its component (updates keep their props)."""
    return {component: wire_value(component, value) for component, value in updates.items()}


def wire_value(component: Any, value: Any) -> Any:
    if isinstance(component, gr.State) or is_prop_update(value):
        return value
    if isinstance(value, Block):  # a component update: its props, with the value postprocessed
        update = {**value.constructor_args, "__type__": "update"}
        if "value" in update:
            update["value"] = wire_value(component, update["value"])
        return update
    done = component.postprocess(value)
    return done.model_dump() if isinstance(done, GradioModel | GradioRootModel) else done


def unwire(inputs: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Named input values as Gradio's preprocess would have handed them to the handler."""
    return {name: unwire_value(inputs[name], value) for name, value in values.items()}


def unwire_value(component: Any, value: Any) -> Any:
    if component.stateful:  # Gradio hands a State's value over as it is, preprocess or not
        return value
    model = getattr(component, "data_model", None)
    return component.preprocess(model.model_validate(value) if model is not None and value is not None else value)
