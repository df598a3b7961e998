"""Client ids for limits, and the quota each kind of client gets.

    user:<name>   a visitor signed in with Hugging Face (their own, larger quota)
    ip:<address>  an anonymous visitor, by address (the Space proxy's forwarded one when trusted)

The web builds the id (demo/visitor.py); admission only reads its kind.
"""

from __future__ import annotations

from typing import NamedTuple

from worker.ops.settings import Settings

USER = "user:"
ADDRESS = "ip:"


class Quota(NamedTuple):
    requests_per_minute: int
    jobs: int


def quota(client: str, settings: Settings) -> Quota:
    if client.startswith(USER):
        return Quota(settings.user_requests_per_minute, settings.user_jobs)
    return Quota(settings.requests_per_minute, settings.jobs_per_client)
