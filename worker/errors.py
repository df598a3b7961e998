"""Errors a user can see, one class per cause, each with a stable code and a retry hint.

    RioError                      code, message, retryable
    ├── InputError                the request itself is wrong: fix it, do not retry as is
    │   ├── ImageError            not an image, too large, too many pixels, decompression bomb
    │   ├── ShareTooLarge         a conversation over the share snapshot caps (turns, images, bytes)
    │   ├── FeedbackTooLong       a feedback comment over `feedback_max_chars`
    │   ├── PromptTooLong         prompt over the model's or the demo's limit
    │   └── UnknownModel          registry has no such key, or it is not configured here
    ├── BackendError              the engine failed to serve the job
    │   ├── BackendUnavailable    cannot reach it (refused, DNS, down): retry later
    │   ├── BackendTimeout        no answer in time: retry later
    │   └── BackendProtocolError  it answered with something we cannot read
    ├── WorkerLost                the worker running the job stopped (no heartbeat, redelivery)
    ├── ServiceUnavailable        Redis / the queue is unreachable from the web
    ├── RateLimited               this client is over its requests per minute or running jobs
    ├── QueueFull                 too many jobs already wait for this model
    ├── OverBudget                this client stored its image bytes or made its shares for this hour
    │   └── FeedbackOverBudget    this client rated its answers for this hour
    ├── StoreFull                 uploads and snapshots are at the memory budget (or Redis at maxmemory)
    ├── VoteRefused               a battle's second vote, or a voter past their votes per hour
    └── ShareNotFound             a share id that is malformed or unknown

Errors cross process boundaries only as the `error` event (`worker.queue.protocol.Error`: code, message,
retryable, and the sentence's key and parameters, so the page can say it in the visitor's language).
An error is raised with a key of `worker.sentences.SENTENCES` and that sentence's parameters; its `message`
is the English sentence. A raw sentence is still accepted (English only; the page shows it as is).
"""

from __future__ import annotations

from worker.sentences import SENTENCES, Param, english


class RioError(Exception):
    code = "internal"
    retryable = False

    def __init__(self, sentence: str, /, *, retryable: bool | None = None, **params: Param) -> None:
        known = sentence in SENTENCES
        self.key = sentence if known else ""
        self.params: dict[str, Param] = params if known else {}
        self.message = english(sentence, params) if known else sentence
        super().__init__(self.message)
        if retryable is not None:
            self.retryable = retryable


class InputError(RioError):
    code = "bad_input"


class ImageError(InputError):
    code = "bad_image"


class ShareTooLarge(InputError):
    code = "share_too_large"


class FeedbackTooLong(InputError):
    code = "feedback_too_long"


class PromptTooLong(InputError):
    code = "prompt_too_long"


class UnknownModel(InputError):
    code = "unknown_model"


class BackendError(RioError):
    code = "backend_error"
    retryable = True


class BackendUnavailable(BackendError):
    code = "backend_unavailable"


class BackendTimeout(BackendError):
    code = "backend_timeout"


class BackendProtocolError(BackendError):
    code = "backend_protocol"
    retryable = False


class WorkerLost(RioError):
    code = "worker_lost"
    retryable = True


class ServiceUnavailable(RioError):
    code = "service_unavailable"
    retryable = True


class RateLimited(RioError):
    code = "rate_limited"
    retryable = True


class QueueFull(RioError):
    code = "queue_full"
    retryable = True


class ShareNotFound(RioError):
    code = "share_not_found"


class OverBudget(RioError):
    code = "over_budget"
    retryable = True


class FeedbackOverBudget(OverBudget):
    code = "feedback_over_budget"


class StoreFull(RioError):
    code = "store_full"
    retryable = True


class VoteRefused(RioError):
    """`reason`: "once" (the battle has its vote) or "hourly" (`limit` votes this hour; `wait_s` to go)."""

    code = "vote_refused"

    def __init__(self, sentence: str, /, *, reason: str, limit: int = 0, wait_s: int = 0) -> None:
        super().__init__(sentence, retryable=reason == "hourly", **({"limit": limit} if reason == "hourly" else {}))
        self.reason, self.limit, self.wait_s = reason, limit, wait_s
