"""What the page says and does about where it runs: a Hugging Face Space or not, where data lives."""

from __future__ import annotations

from pathlib import Path

from demo.i18n import text
from demo.visitor import ProxyTrust
from worker.jobs import Settings

SPACE_STORAGE = Path("/data")  # a Space's persistent storage, when the Space has it


def public_url(settings: Settings) -> str | None:
    """Share links' base: RIO_PUBLIC_URL, else the Space's public host (its first, when it has several)."""
    if settings.public_url:
        return settings.public_url
    if settings.on_space and settings.space_host:
        return "https://" + settings.space_host.split(",")[0].strip().rstrip("/")
    return None


def sign_in_offered(settings: Settings) -> bool:
    """Only a Space with `hf_oauth: true` can sign visitors in: elsewhere Gradio replaces the login
    with the machine's own Hugging Face account, which needs a token and hf.co."""
    return settings.on_space and bool(settings.oauth_client_id)


def examples_dir(settings: Settings) -> Path:
    """Where the example prompts' pictures are drawn at start-up (served, like uploads)."""
    return (settings.var_dir / "examples").resolve()


def storage_note(settings: Settings, lang: str) -> str:
    """One line on whether share links outlive a restart."""
    if not settings.embedded_redis:
        return text("storage.redis", lang)
    persistent = settings.var_dir.resolve().is_relative_to(SPACE_STORAGE)
    if persistent:
        return text("storage.persistent", lang)
    if settings.on_space:
        return text("storage.ephemeral", lang)
    return text("storage.local", lang, path=settings.var_dir)


def proxy_trust(settings: Settings) -> ProxyTrust:
    """Which hops in front of the web are believed when reading a visitor's address (demo/visitor.py)."""
    return ProxyTrust.parse(settings.trusted_proxies, settings.on_space, settings.trusted_proxy_hops)
