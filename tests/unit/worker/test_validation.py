"""Each check on what a person sends, one by one: the exact sentence, and the bound itself (at, and one past)."""

from __future__ import annotations

import json

import pytest

from worker.errors import InputError, UnknownModel
from worker.intake.validation import check_message, check_model, job_spec, parse_job_spec
from worker.ops.settings import Settings

LIMITS = Settings(max_prompt_chars=10, max_images=2, max_payload_bytes=2_000_000, max_new_tokens=100)
SPEC = {"model": "tiny-random", "messages": [{"role": "user", "content": "hi"}], "sampling": {"max_tokens": 100}}


def refusal(call) -> str:
    with pytest.raises(InputError) as exc:
        call()
    return exc.value.message


@pytest.mark.parametrize(
    ("text", "sizes", "message"),
    [
        ("a\x00b", [], "The message contains a NUL character; remove it and send again."),
        (" \n ", [], "Type a message or attach an image."),
        ("x" * 11, [], "The message is 11 characters; the limit is 10."),
        ("hi", [1, 1, 1], "3 images attached; the limit is 2 per message."),
        ("hi", [1_000_000, 1_000_001], "The images add up to 2.0 MB; the limit is 2 MB per message."),
    ],
)
def test_each_message_check_says_what_is_wrong(text, sizes, message):
    assert refusal(lambda: check_message(text, sizes, LIMITS)) == message


@pytest.mark.parametrize(("text", "sizes"), [("x" * 10, []), ("", [5]), ("hi", [1, 1]), ("hi", [1_000_000, 1_000_000])])
def test_a_message_at_each_limit_passes(text, sizes):
    check_message(text, sizes, LIMITS)


def test_the_max_new_tokens_cap_of_the_deployment_holds():
    assert job_spec(SPEC, LIMITS).sampling.max_tokens == 100
    over = {**SPEC, "sampling": {"max_tokens": 101}}
    assert refusal(lambda: job_spec(over, LIMITS)) == "Max new tokens must be at most 100 here."


@pytest.mark.parametrize(
    ("sampling", "message"),
    [
        ({"temperature": 2.5}, "Temperature must be at most 2.0."),
        ({"top_p": 0}, "Top-p must be above 0.0."),
        ({"top_k": -1}, "Top-k must be at least 0."),
        ({"max_tokens": 0}, "Max new tokens must be at least 1."),
    ],
)
def test_bounds_are_said_plainly_with_the_field_name(sampling, message):
    assert refusal(lambda: job_spec({**SPEC, "sampling": sampling}, LIMITS)) == message


def test_other_errors_name_the_field_and_the_problem():
    assert refusal(lambda: job_spec({**SPEC, "sampling": {"seed": "x"}}, LIMITS)).startswith("Seed: ")
    assert refusal(lambda: job_spec({"messages": []}, LIMITS)).startswith("Model: ")
    assert refusal(lambda: parse_job_spec("not json")).startswith("The request: ")
    assert parse_job_spec(json.dumps(SPEC)).model == "tiny-random"


def test_unknown_and_unserved_models_are_refused_by_name():
    with pytest.raises(UnknownModel):
        check_model("no-such-model", LIMITS)
    with pytest.raises(UnknownModel) as exc:
        check_model("rio-3.5-open-397b", LIMITS)  # no SGLang URL configured here
    assert exc.value.message == "Rio 3.5 Open 397B is not served by this demo."
    check_model("tiny-random", LIMITS)


def test_a_bound_below_or_on_a_nested_field_without_a_plain_name_is_said_with_its_path():
    """`explain` is generic: any pydantic bound gets its sentence, a field with no plain name its dotted path."""
    from pydantic import BaseModel, Field, ValidationError

    from worker.intake.validation import explain

    class Inner(BaseModel):
        n: int = Field(0, lt=5)

    class Outer(BaseModel):
        inner: Inner

    with pytest.raises(ValidationError) as below:
        Outer.model_validate({"inner": {"n": 7}})
    assert explain(below.value).message == "inner.n must be below 5."
