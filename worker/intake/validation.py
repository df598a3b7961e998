"""Every check on what a person sends, in one place, each failure a specific `InputError`.

Images are checked in `worker.intake.images.sanitize_image`; this module checks the message around them
(text, number of images, total bytes) and the job (model key, parameters, the spec itself)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from worker.errors import InputError, UnknownModel
from worker.models import available, entry
from worker.ops.settings import Settings
from worker.queue.protocol import JobSpec
from worker.sentences import WORDS

BOUNDS = {"less_than_equal": ("field_at_most", "le"), "less_than": ("field_below", "lt"),
          "greater_than_equal": ("field_at_least", "ge"), "greater_than": ("field_above", "gt")}  # fmt: skip


def check_message(text: str, image_sizes: list[int], settings: Settings) -> None:
    if "\x00" in text:
        raise InputError("prompt_nul")
    if not text.strip() and not image_sizes:
        raise InputError("prompt_empty")
    if len(text) > settings.max_prompt_chars:
        raise InputError("prompt_too_long", chars=len(text), limit=settings.max_prompt_chars)
    if len(image_sizes) > settings.max_images:
        raise InputError("too_many_images", count=len(image_sizes), limit=settings.max_images)
    total = sum(image_sizes)
    if total > settings.max_payload_bytes:
        raise InputError("payload_too_large", mb=total / 1e6, limit=settings.max_payload_bytes / 1e6)


def check_model(key: str, settings: Settings) -> None:
    e = entry(key)  # UnknownModel for a key the registry lacks
    if e not in available(settings):
        raise UnknownModel("model_not_served", label=e.label)


def explain(exc: ValidationError) -> InputError:
    """The first problem of a pydantic error, said plainly ("Temperature must be at most 2")."""
    err = exc.errors()[0]
    plain = next((f"field.{p}" for p in reversed(err["loc"]) if f"field.{p}" in WORDS), None)
    field = plain or ".".join(str(p) for p in err["loc"]) or "field.request"  # a path is said as it is
    ctx = err.get("ctx") or {}
    if err["type"] in BOUNDS:
        key, bound = BOUNDS[err["type"]]
        return InputError(key, field_word=field, bound=str(ctx[bound]))
    return InputError("field_invalid", field_word=field, detail=str(err["msg"]))


def job_spec(fields: dict[str, Any], settings: Settings) -> JobSpec:
    """Build a job from untrusted fields; raises InputError with one plain sentence."""
    try:
        spec = JobSpec.model_validate(fields)
    except ValidationError as exc:
        raise explain(exc) from exc
    check_model(spec.model, settings)
    if spec.sampling.max_tokens > settings.max_new_tokens:
        raise InputError("max_tokens_here", limit=settings.max_new_tokens)
    return spec


def parse_job_spec(raw: str | bytes) -> JobSpec:
    """A job spec as a worker receives it (JSON); raises InputError when it is not one."""
    try:
        return JobSpec.model_validate_json(raw)
    except ValidationError as exc:
        raise explain(exc) from exc
