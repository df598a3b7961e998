"""The model registry: what each key is, which backend serves it, and whether it is configured here."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from worker.errors import UnknownModel
from worker.ops.settings import Settings

ReasoningMode = Literal["swireasoning", "thinking", "off"]


class ModelEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    label: str
    weights: str  # hub id, or a local path for tiny-random
    backend: Literal["sglang", "local", "paced"]
    url_setting: str | None = None  # Settings field holding the SGLang URL (router or server)
    local_setting: str | None = None  # Settings field holding a local checkpoint path or hub id
    default_reasoning: ReasoningMode
    images: bool = True
    context_limit: int
    random_weights: bool = False
    # What an answer that gives the model away would say: its names and its maker's, in Portuguese and
    # English (a battle whose answer names any model or maker here is kept out of the leaderboard).
    names: tuple[str, ...] = ()
    makers: tuple[str, ...] = ()


RIO_MAKERS = ("Prefeitura do Rio", "Prefeitura da Cidade do Rio", "Rio City Hall", "City Hall of Rio", "IPLANRIO")
QWEN_NAMES = ("Qwen", "Tongyi Qianwen", "Tongyi", "通义千问")
QWEN_MAKERS = ("Alibaba", "Alibaba Cloud", "Grupo Alibaba", "阿里巴巴", "阿里云")


REGISTRY: tuple[ModelEntry, ...] = (
    ModelEntry(
        key="rio-3.5-open-397b",
        label="Rio 3.5 Open 397B",
        weights="prefeitura-rio/Rio-3.5-Open-397B",
        backend="sglang",
        url_setting="rio_sglang_url",
        default_reasoning="swireasoning",
        context_limit=262_144,
        names=("Rio 3.5", "Rio-3.5", "Rio Open"),
        makers=RIO_MAKERS,
    ),
    ModelEntry(
        key="qwen3.5-397b-a17b",
        label="Qwen3.5-397B-A17B",
        weights="Qwen/Qwen3.5-397B-A17B",
        backend="sglang",
        url_setting="qwen_sglang_url",
        default_reasoning="thinking",
        context_limit=262_144,
        names=QWEN_NAMES,
        makers=QWEN_MAKERS,
    ),
    ModelEntry(
        key="rio-3.0-open-mini",
        label="Rio 3.0 Open Mini (4B)",
        weights="prefeitura-rio/Rio-3.0-Open-Mini",
        backend="local",
        local_setting="rio_local_model",
        default_reasoning="swireasoning",
        images=False,
        context_limit=32_768,
        names=("Rio 3.0", "Rio-3.0", "Rio Open Mini"),
        makers=RIO_MAKERS,
    ),
    ModelEntry(
        key="qwen3-4b-thinking-2507",
        label="Qwen3-4B-Thinking-2507",
        weights="Qwen/Qwen3-4B-Thinking-2507",
        backend="local",
        local_setting="qwen_local_model",
        default_reasoning="thinking",
        images=False,
        context_limit=32_768,
        names=QWEN_NAMES,
        makers=QWEN_MAKERS,
    ),
    ModelEntry(
        key="tiny-random",
        label="tiny-random (random weights, meaningless output)",
        weights="var/models/tiny-random",
        backend="local",
        local_setting="tiny_model_path",
        default_reasoning="swireasoning",
        context_limit=8_192,
        random_weights=True,
    ),
    ModelEntry(
        key="paced",
        label="paced (fixed text at a fixed rate, for load tests)",
        weights="-",
        backend="paced",
        local_setting="paced_model",
        default_reasoning="thinking",
        context_limit=1_000_000,
        random_weights=True,
    ),
)


def queue_name(model: str) -> str:
    """One Celery queue per model, so the workers next to a GPU cluster take only their model's jobs."""
    return f"rio.{model}"


def entry(key: str) -> ModelEntry:
    for e in REGISTRY:
        if e.key == key:
            return e
    raise UnknownModel("unknown_model", key=key)


def location(e: ModelEntry, settings: Settings) -> str | None:
    """The URL or checkpoint that serves `e` here, or None when it is not configured."""
    name = e.url_setting if e.backend == "sglang" else e.local_setting
    value = getattr(settings, name) if name else None
    if isinstance(value, bool):
        return e.backend if value else None
    return str(value) if value else None


def available(settings: Settings) -> list[ModelEntry]:
    """Configured models, real ones first; tiny-random is always there."""
    return [e for e in REGISTRY if location(e, settings)]


def default_pair(settings: Settings) -> tuple[str, str]:
    """Default compare sides: Rio vs its base when both are configured, else tiny-random on both."""
    keys = [e.key for e in available(settings)]
    for rio, base in (("rio-3.5-open-397b", "qwen3.5-397b-a17b"), ("rio-3.0-open-mini", "qwen3-4b-thinking-2507")):
        if rio in keys and base in keys:
            return rio, base
    return keys[0], keys[0]
