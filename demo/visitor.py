"""Who is asking, for limits: a visitor signed in with Hugging Face, else their address.

Signed-in: Gradio's OAuth (`gr.LoginButton`, a Space with `hf_oauth: true`) keeps the login in the
signed `session` cookie as `oauth_info`; that is what `gr.OAuthProfile` is read from, and so do we.
Address: the connecting peer, or the first X-Forwarded-For entry when the peer is a proxy we trust:
one named in RIO_TRUSTED_PROXIES, or any peer on a Hugging Face Space, where every visitor arrives
through the Space's proxy (from an internal address) and nothing reaches the app around it.
"""

from __future__ import annotations

import time
from typing import Any

from worker.jobs import ADDRESS, USER


def signed_in_user(request: Any) -> str | None:
    """The Hugging Face username of a signed-in visitor, or None."""
    raw = getattr(request, "request", None)  # gr.Request wraps the Starlette request
    scope = getattr(raw, "scope", None)
    session = scope.get("session") if isinstance(scope, dict) else None  # absent without OAuth middleware
    info = session.get("oauth_info") if isinstance(session, dict) else None
    if not isinstance(info, dict):
        return None
    expires = info.get("expires_at")
    if expires is not None and float(expires) < time.time():  # Gradio's rule: an expired login is none
        return None
    name = (info.get("userinfo") or {}).get("preferred_username")
    return str(name)[:96] if name else None


def client_id(request: Any, trusted_proxies: str = "", behind_space_proxy: bool = False) -> str:
    """`user:<name>` (Hugging Face login, or Gradio's own auth), else `ip:<address>`."""
    if request is None:
        return "anon"
    user = signed_in_user(request) or getattr(request, "username", None)
    if user:
        return USER + user
    peer = request.client.host if request.client else "anon"
    forwarded = request.headers.get("x-forwarded-for", "")
    trusted = behind_space_proxy or peer in {p.strip() for p in trusted_proxies.split(",") if p.strip()}
    if forwarded and trusted:
        return ADDRESS + forwarded.split(",")[0].strip()[:64]
    return ADDRESS + peer
