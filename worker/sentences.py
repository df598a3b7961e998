"""Every sentence a visitor can read from `worker/`, in English, by key, with `{name}` parameters.

An error carries its key and parameters (`RioError.key`, `.params`; the `error` event's `key`,
`params`) beside this English rendering, so the page says it in the visitor's language
(`demo/i18n/page.py` holds the Portuguese of each key; `tests/unit/demo/test_i18n.py` checks that
every key here has one, with the same parameters). A parameter whose name ends in `_word` holds a key
of WORDS (a unit, a field's name): it is translated too. Plural forms are separate keys (`_one`).
"""

from __future__ import annotations

import string

Param = str | int | float

SENTENCES: dict[str, str] = {
    # generic failures
    "internal": "Something went wrong on our side with this answer.",
    "server_internal": "The model server hit an internal error.",
    "no_result": "The answer ended without a result.",
    "queue_timeout": "The queue was too long and this request expired. Please retry.",
    "service_unavailable": "The service is unavailable right now (queue unreachable). Your conversation is kept; "
    "try again shortly.",
    "worker_lost": "The worker running this answer stopped; it was not re-run. Nothing above was lost: please retry.",
    # limits and budgets
    "store_full_upload": "The demo's storage is full right now, so it cannot take images. Conversations without new "
    "images still work, and existing share links stay readable; please try again later.",
    "store_full_share": "The demo's storage is full right now, so it cannot take new share links. Conversations "
    "without new images still work, and existing share links stay readable; please try again later.",
    "store_full_feedback": "The demo's storage is full right now, so it cannot take feedback. Conversations "
    "without new images still work, and existing share links stay readable; please try again later.",
    "feedback_budget_one": "You have rated {limit} answer this hour, the limit per visitor. Try again in {wait} "
    "{unit_word}.",
    "feedback_budget": "You have rated {limit} answers this hour, the limit per visitor. Try again in {wait} "
    "{unit_word}.",
    "store_full": "The demo's storage is full right now, so it cannot keep this. Please try again later.",
    "image_budget": "You have sent {mb} MB of images this hour, the limit per visitor. Try again in {wait} "
    "{unit_word}, or send the message without images.",
    "share_budget_one": "You have made {limit} share link this hour, the limit per visitor. Try again in {wait} "
    "{unit_word}.",
    "share_budget": "You have made {limit} share links this hour, the limit per visitor. Try again in {wait} "
    "{unit_word}.",
    "queue_full_one": "This model is busy ({waiting} request waiting). Please try again in {again} s.",
    "queue_full": "This model is busy ({waiting} requests waiting). Please try again in {again} s.",
    "rate_limited": "Too many requests: the limit is {limit} per minute. Try again in {wait} s.",
    "jobs_running_one": "You already have {running} answer running (limit {limit}). Wait for one to finish or stop "
    "it, then try again.",
    "jobs_running": "You already have {running} answers running (limit {limit}). Wait for one to finish or stop it, "
    "then try again.",
    # battle votes (worker/store/votes.py)
    "vote_once": "This battle already has its vote: start a new battle to vote again.",
    "vote_hourly_one": "You have cast {limit} vote this hour, the limit per visitor.",
    "vote_hourly": "You have cast {limit} votes this hour, the limit per visitor.",
    "feedback_too_long": "This comment has {length} characters; a comment holds at most {limit}.",
    # models and backends
    "unknown_model": "Unknown model '{key}'.",
    "model_not_served": "{label} is not served by this demo.",
    "model_not_configured": "{label} is not configured on this worker.",
    "backend_not_available": "{label}: backend '{backend}' is not available yet.",
    "model_down": "This model is down right now ({detail}). Try another model or retry soon.",
    "backend_unreachable": "{label} is unreachable right now. Please retry shortly.",
    "backend_timeout": "{label} did not answer in time. Please retry.",
    "backend_dropped": "{label} closed the connection mid-answer. Please retry.",
    "backend_incomplete": "{label} ended the answer before it was complete. Please retry.",
    "backend_reported": "{label} reported an error while answering. Please retry.",
    "backend_unreadable": "{label} sent a response we could not read.",
    "backend_credentials": "{label}: the model server refused our credentials.",
    "backend_busy": "{label} is busy or starting up (HTTP {status}). Please retry in a moment.",
    "backend_failed": "{label} failed (HTTP {status}). Please retry.",
    "backend_rejected": "{label} rejected the request (HTTP {status}).",
    "backend_rejected_detail": "{label} rejected the request (HTTP {status}): {detail}.",
    "prompt_too_long_tokens": "The conversation is {tokens} tokens; this model takes {limit}.",
    "no_images_accepted": "This model does not accept images.",
    "image_processor": "The model's image processor cannot take an image of this message ({detail}).",
    "image_count_mismatch": "The chat template placed a different number of images than were attached.",
    # the message and its images
    "prompt_nul": "The message contains a NUL character; remove it and send again.",
    "prompt_empty": "Type a message or attach an image.",
    "prompt_too_long": "The message is {chars:,} characters; the limit is {limit:,}.",
    "too_many_images": "{count} images attached; the limit is {limit} per message.",
    "payload_too_large": "The images add up to {mb:.1f} MB; the limit is {limit:.0f} MB per message.",
    "max_tokens_here": "Max new tokens must be at most {limit} here.",
    "field_at_most": "{field_word} must be at most {bound}.",
    "field_below": "{field_word} must be below {bound}.",
    "field_at_least": "{field_word} must be at least {bound}.",
    "field_above": "{field_word} must be above {bound}.",
    "field_invalid": "{field_word}: {detail}.",
    "image_too_large": "Image is {mb:.1f} MB; the limit is {limit} MB.",
    "image_type": "Unsupported image type {format}; use PNG, JPEG, GIF, WEBP, BMP or TIFF.",
    "image_pixels": "Image is {width}×{height} pixels; the limit is {limit:.0f} megapixels.",
    "image_bomb": "Image rejected: it expands to far more pixels than it claims.",
    "image_unreadable": "That file is not a readable image (it may be corrupt or truncated).",
    "image_detail": "This image holds too much detail to store in {limit:.0f} MB; send a smaller one.",
    "image_stored_unreadable": "An image of this conversation is not readable; please attach it again.",
    "image_expired": "An image of this conversation has expired; please attach it again.",
    "image_ratio": "This image is {width}×{height} pixels: its long side is {ratio:,.0f} times its short side, and "
    "the model takes at most {max_ratio:g} to 1. Crop it or send it in parts.",
    "image_too_small": "This image is {width}×{height} pixels, smaller than one {patch}×{patch} patch the model "
    "looks at. Send a larger image.",
    # share links
    "share_image_expired": "An image in this conversation has expired, so it cannot be shared.",
    "share_too_large_turns": "This conversation is too large to share: it has {turns} turns and a shared "
    "conversation holds at most {limit}. Start a new one to share.",
    "share_too_large_images": "This conversation is too large to share: it has {images} images and a share holds "
    "at most {limit}. Start a new one to share.",
    "share_too_large_bytes": "This conversation is too large to share: it takes {mb:.1f} MB and a share holds at "
    "most {limit} MB. Start a new one to share.",
    "share_malformed": "That share link is malformed: check that it was copied whole.",
    "share_unknown": "No shared conversation has that link (it may have been mistyped).",
    "share_unreadable": "That shared conversation is in a format this version cannot read.",
    "share_image_missing": "An image of this shared conversation is missing.",
}

WORDS: dict[str, str] = {
    "s": "s",
    "minutes": "minutes",
    "field.request": "The request",
    "field.temperature": "Temperature",
    "field.top_p": "Top-p",
    "field.top_k": "Top-k",
    "field.min_p": "Min-p",
    "field.max_tokens": "Max new tokens",
    "field.seed": "Seed",
    "field.alpha0": "α₀",
    "field.beta0": "β₀",
    "field.window": "Dwell window",
    "field.max_switch_count": "Max switch count",
    "field.mixture_top_k": "Mixture top-k",
    "field.mode": "Reasoning mode",
    "field.model": "Model",
    "field.messages": "Messages",
    "field.id": "Job id",
    "field.ref": "Image reference",
}


def plural_key(key: str, n: int) -> str:
    """`key_one` for exactly one, else `key` (the languages here have these two forms)."""
    return f"{key}_one" if n == 1 else key


def placeholders(template: str) -> set[tuple[str, str]]:
    """The `{name:spec}` fields of a template, as (name, spec) pairs."""
    return {(name, spec or "") for _, name, spec, _ in string.Formatter().parse(template) if name is not None}


def english(key: str, params: dict[str, Param]) -> str:
    """The English sentence of `key` with its parameters (word parameters in English)."""
    words = {k: WORDS.get(str(v), v) if k.endswith("_word") else v for k, v in params.items()}  # a path: as it is
    return SENTENCES[key].format(**words)
