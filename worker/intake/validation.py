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

FIELD_NAMES = {
    "temperature": "Temperature", "top_p": "Top-p", "top_k": "Top-k", "min_p": "Min-p",
    "max_tokens": "Max new tokens", "seed": "Seed", "alpha0": "α₀", "beta0": "β₀", "window": "Dwell window",
    "max_switch_count": "Max switch count", "mixture_top_k": "Mixture top-k", "mode": "Reasoning mode",
    "model": "Model", "messages": "Messages", "id": "Job id", "ref": "Image reference",
}  # fmt: skip


def check_message(text: str, image_sizes: list[int], settings: Settings) -> None:
    if "\x00" in text:
        raise InputError("The message contains a NUL character; remove it and send again.")
    if not text.strip() and not image_sizes:
        raise InputError("Type a message or attach an image.")
    if len(text) > settings.max_prompt_chars:
        raise InputError(f"The message is {len(text):,} characters; the limit is {settings.max_prompt_chars:,}.")
    if len(image_sizes) > settings.max_images:
        raise InputError(f"{len(image_sizes)} images attached; the limit is {settings.max_images} per message.")
    total = sum(image_sizes)
    if total > settings.max_payload_bytes:
        raise InputError(
            f"The images add up to {total / 1e6:.1f} MB; the limit is {settings.max_payload_bytes / 1e6:.0f} MB "
            "per message."
        )


def check_model(key: str, settings: Settings) -> None:
    e = entry(key)  # UnknownModel for a key the registry lacks
    if e not in available(settings):
        raise UnknownModel(f"{e.label} is not served by this demo.")


def explain(exc: ValidationError) -> str:
    """The first problem of a pydantic error, said plainly ("Temperature must be at most 2")."""
    err = exc.errors()[0]
    field = next((FIELD_NAMES[str(p)] for p in reversed(err["loc"]) if str(p) in FIELD_NAMES), None)
    name = field or ".".join(str(p) for p in err["loc"]) or "The request"
    ctx = err.get("ctx") or {}
    bounds = {"less_than_equal": "at most {le}", "less_than": "below {lt}", "greater_than_equal": "at least {ge}",
              "greater_than": "above {gt}"}  # fmt: skip
    if err["type"] in bounds:
        return f"{name} must be {bounds[err['type']].format(**ctx)}."
    return f"{name}: {err['msg']}."


def job_spec(fields: dict[str, Any], settings: Settings) -> JobSpec:
    """Build a job from untrusted fields; raises InputError with one plain sentence."""
    try:
        spec = JobSpec.model_validate(fields)
    except ValidationError as exc:
        raise InputError(explain(exc)) from exc
    check_model(spec.model, settings)
    if spec.sampling.max_tokens > settings.max_new_tokens:
        raise InputError(f"Max new tokens must be at most {settings.max_new_tokens} here.")
    return spec


def parse_job_spec(raw: str | bytes) -> JobSpec:
    """A job spec as a worker receives it (JSON); raises InputError when it is not one."""
    try:
        return JobSpec.model_validate_json(raw)
    except ValidationError as exc:
        raise InputError(explain(exc)) from exc
