"""A battle whose answer names a model or maker of the registry is not blind: found as whole words, in
the answer and in the visible thinking, in Portuguese, English and Chinese."""

from __future__ import annotations

from worker.jobs import Reasoning, Sampling, SideRecord, Snapshot, TurnRecord
from worker.models import REGISTRY
from worker.store.votes import names_a_model


def battle(answer_a: str, answer_b: str = "Olá!", thinking_b: str = "") -> Snapshot:
    def side(answer: str, thinking: str = "") -> SideRecord:
        turn = TurnRecord(user_text="Quem é você?", answer=answer, thinking=[(thinking, False)] if thinking else [])
        return SideRecord(model="paced", label="x", sampling=Sampling(), reasoning=Reasoning(), turns=[turn])

    return Snapshot(kind="battle", sides=[side(answer_a), side(answer_b, thinking_b)], vote="a")


def test_a_side_naming_a_model_or_maker_is_found():
    assert names_a_model(battle("I am Qwen.")) == "answer A names Qwen"
    assert names_a_model(battle("Sou o Qwen3.5, criado pela Alibaba Cloud.")) == "answer A names Qwen"
    assert names_a_model(battle("Oi", "Fui feito pela Prefeitura do Rio.")) == "answer B names Prefeitura do Rio"
    assert names_a_model(battle("Oi", "Oi", thinking_b="I should not say I'm Rio 3.5")) == "answer B names Rio 3.5"
    assert names_a_model(battle("我是通义千问")) == "answer A names 通义千问"


def test_ordinary_answers_are_not_taken_for_names():
    for text in ("O Rio de Janeiro tem praias.", "Alibabaesque is no word.", "Qwenty", "Rio 35 graus"):
        assert names_a_model(battle(text)) is None, text


def test_the_real_models_have_names_and_makers_in_the_registry():
    named = {e.key for e in REGISTRY if e.names and e.makers}
    assert {"rio-3.5-open-397b", "qwen3.5-397b-a17b", "rio-3.0-open-mini", "qwen3-4b-thinking-2507"} <= named
