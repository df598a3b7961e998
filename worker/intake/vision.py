"""What each model's image processor takes, so intake refuses what it would refuse and stores what it uses.

Qwen's vision models (Qwen2-VL to Qwen3.5) share one image processor (`Qwen2VLImageProcessor`, used by
the local engine through transformers and by SGLang for `qwen3_5`/`qwen3_5_moe`). It resizes each
image with `smart_resize`: both sides become multiples of `factor` = patch size × merge size, the
pixel count is brought inside [min_pixels, max_pixels] keeping the aspect ratio, and an image whose
long side is more than 200 times its short side is refused (`ValueError`). The numbers below are the
checkpoints' own `preprocessor_config.json` values; `smart_resize` is a transcription of the
processor's, checked against it in the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from worker.errors import ImageError
from worker.models import ModelEntry, available
from worker.ops.settings import Settings


@dataclass(frozen=True)
class VisionRules:
    patch: int
    merge: int
    min_pixels: int
    max_pixels: int
    max_ratio: float = 200.0

    @property
    def factor(self) -> int:
        return self.patch * self.merge


# Qwen3.5 checkpoints (Rio 3.5 is one): {"size": {"shortest_edge": 65536, "longest_edge": 16777216},
# "patch_size": 16, "merge_size": 2}, i.e. 256² to 4096² pixels in 32-pixel steps.
QWEN3_5 = VisionRules(patch=16, merge=2, min_pixels=256 * 256, max_pixels=4096 * 4096)
TINY_RANDOM = VisionRules(patch=16, merge=2, min_pixels=32 * 32, max_pixels=128 * 128)  # worker.ops.tiny_model
RULES = {"rio-3.5-open-397b": QWEN3_5, "qwen3.5-397b-a17b": QWEN3_5, "tiny-random": TINY_RANDOM}


def smart_resize(height: int, width: int, rules: VisionRules) -> tuple[int, int]:
    """The (height, width) the processor resizes an image to; ValueError where it refuses one."""
    f = rules.factor
    if max(height, width) / min(height, width) > rules.max_ratio:
        raise ValueError(f"absolute aspect ratio must be smaller than {rules.max_ratio:g}")
    h_bar, w_bar = round(height / f) * f, round(width / f) * f
    if h_bar * w_bar > rules.max_pixels:
        beta = math.sqrt((height * width) / rules.max_pixels)
        h_bar = max(f, math.floor(height / beta / f) * f)
        w_bar = max(f, math.floor(width / beta / f) * f)
    elif h_bar * w_bar < rules.min_pixels:
        beta = math.sqrt(rules.min_pixels / (height * width))
        h_bar = math.ceil(height * beta / f) * f
        w_bar = math.ceil(width * beta / f) * f
    return h_bar, w_bar


def rules_of(e: ModelEntry) -> VisionRules | None:
    return RULES.get(e.key) if e.images else None


def configured_rules(settings: Settings) -> list[VisionRules]:
    """The rules of every model this deployment serves that takes images."""
    return [r for r in (rules_of(e) for e in available(settings)) if r is not None]


def check_fits(width: int, height: int, rules: list[VisionRules]) -> None:
    """Refuse, with one sentence each, an image some configured model's processor would refuse or
    could not make anything of."""
    long, short = max(width, height), min(width, height)
    for r in rules:
        if long / short > r.max_ratio:
            raise ImageError("image_ratio", width=width, height=height, ratio=long / short, max_ratio=r.max_ratio)
        if long < r.patch:
            raise ImageError("image_too_small", width=width, height=height, patch=r.patch)


def stored_size(width: int, height: int, rules: list[VisionRules]) -> tuple[int, int]:
    """(width, height) to store: the largest any configured processor resizes to, never above the original.

    Stored at exactly that size, the image resizes again to the same grid in every processor, so the
    model sees as many image tokens as it would from the original."""
    best = (width, height)
    if not rules:
        return best
    widest = max(rules, key=lambda r: r.max_pixels)
    h, w = smart_resize(height, width, widest)
    return (w, h) if w * h < width * height else best
