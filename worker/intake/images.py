"""Images: validated and re-encoded once at the edge, stored compactly in Redis by content hash.

Validation sniffs the content (never the file name), bounds bytes and pixels before decoding
(decompression bombs), applies EXIF rotation, flattens animation/alpha/CMYK/16-bit to 8-bit RGB and
refuses what the configured models' image processors would refuse (`worker.intake.vision`). What is stored is
what the models use: the image at the largest size any configured processor resizes it to (never
larger than sent), without metadata, as PNG where that is small (up to 512², or screenshots and
diagrams that PNG keeps near the JPEG's size) and as JPEG otherwise (quality 90, 4:4:4), its quality
stepped down only until it fits `max_stored_image_bytes`. Workers read the bytes back by reference
(`img:<sha256>`).

People see another copy: the same image at up to `display_image_px` (1280) on its long side, as
compact, under `show:<sha256>` (the model copy's hash, so one reference names both). It is stored
only where it differs from the model's copy; both count in the visitor's image bytes per hour.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

from PIL import Image, ImageOps, UnidentifiedImageError

from worker.errors import ImageError
from worker.intake.vision import VisionRules, check_fits, configured_rules, stored_size
from worker.limits.budgets import Budgets
from worker.ops.settings import Settings

ALLOWED_FORMATS = {"PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"}
LOSSLESS_PIXELS = 262_144  # always PNG up to 512² pixels
PNG_NEAR = 1.5  # larger images are PNG when that is at most 1.5x the JPEG (judged on a sample first)
# JPEG (quality, chroma subsampling: 0 = 4:4:4, 2 = 4:2:0), best first; noise needs the low rungs
JPEG_LADDER = ((90, 0), (85, 2), (75, 2), (60, 2), (45, 2), (30, 2), (20, 2), (10, 2))


class Copies(NamedTuple):
    """An upload as kept: the model's copy and the copy people see (the same bytes when the sizes agree)."""

    model: bytes
    shown: bytes


def sanitize_image(data: bytes, settings: Settings, rules: list[VisionRules] | None = None) -> bytes:
    """Clean, compact bytes for `data` at the models' size, or `ImageError` with a sentence a person can act on."""
    return sanitize_copies(data, settings, rules, shown=False).model


def sanitize_copies(data: bytes, settings: Settings, rules: list[VisionRules] | None = None, *, shown: bool = True
                    ) -> Copies:  # fmt: skip
    """The model's copy and (decoded once) the copy for people, at most `display_image_px` on its long side."""
    img = decode(data, settings)
    rules = configured_rules(settings) if rules is None else rules
    check_fits(img.width, img.height, rules)
    flat = flatten(img)
    model_size = stored_size(img.width, img.height, rules)
    model = compact(flat, model_size, settings.max_stored_image_bytes)
    shown_size = display_size(img.width, img.height, settings.display_image_px)
    if not shown or shown_size == model_size:
        return Copies(model, model)
    return Copies(model, compact(flat, shown_size, settings.max_stored_image_bytes))


def display_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) scaled down so the long side is at most `long_side`; never up."""
    scale = long_side / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def decode(data: bytes, settings: Settings) -> Image.Image:
    """The first frame, upright, bounded in bytes and pixels before any pixel is decoded."""
    if len(data) > settings.max_image_bytes:
        raise ImageError("image_too_large", mb=len(data) / 1e6, limit=settings.max_image_bytes // (1024 * 1024))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in ALLOWED_FORMATS:
                raise ImageError("image_type", format=str(img.format))
            width, height = img.size
            if width * height > settings.max_image_pixels:
                raise ImageError("image_pixels", width=width, height=height, limit=settings.max_image_pixels / 1e6)
            img.seek(0)  # first frame of an animation
            img.load()
            return ImageOps.exif_transpose(img) or img
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("image_bomb") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("image_unreadable") from exc


def flatten(img: Image.Image) -> Image.Image:
    """8-bit RGB: 16-bit scaled down, transparency composed over white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # by way of "I": `point` refuses I;16B (big-endian TIFF)
        img = img.convert("I").point(lambda v: v / 256).convert("L")
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:  # a palette's, or an RGB / grey key colour
        background = Image.new("RGB", img.size, (255, 255, 255))
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        img = background
    return img.convert("RGB")


def compact(img: Image.Image, size: tuple[int, int], max_bytes: int) -> bytes:
    """The image at `size` within `max_bytes`: PNG when small, or when PNG stays near the JPEG's size
    (screenshots, diagrams); else the best JPEG that fits."""
    if size != img.size:
        img = img.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)
    pixels = img.width * img.height
    if pixels <= LOSSLESS_PIXELS and len(png := encode(img, "PNG")) <= max_bytes:
        return png
    ladder = (encode(img, "JPEG", quality=q, subsampling=sub) for q, sub in JPEG_LADDER)
    jpeg = next((b for b in ladder if len(b) <= max_bytes), None)
    if png_is_near(sample(img)):
        png = encode(img, "PNG")
        if len(png) <= max_bytes and (jpeg is None or len(png) <= PNG_NEAR * len(jpeg)):
            return png
    if jpeg is None:
        raise ImageError("image_detail", limit=max_bytes / 1e6)
    return jpeg


def sample(img: Image.Image, side: int = 512) -> Image.Image:
    """A central crop, to judge the encodings of a large image cheaply."""
    left, top = max(0, (img.width - side) // 2), max(0, (img.height - side) // 2)
    return img.crop((left, top, min(img.width, left + side), min(img.height, top + side)))


def png_is_near(img: Image.Image) -> bool:
    q, sub = JPEG_LADDER[0]
    return len(encode(img, "PNG")) <= PNG_NEAR * len(encode(img, "JPEG", quality=q, subsampling=sub))


def encode(img: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, optimize=False, **options)
    return out.getvalue()


def checked_loader(load: Callable[[str], bytes], rules: VisionRules | None) -> Callable[[str], bytes]:
    """Worker side: `load`, refusing with the intake's sentence an image the model's processor would
    refuse. A job can reach a worker without the web's intake (another client of the queue, an older
    web), and the processor's own error would otherwise read as an internal one."""

    def load_checked(ref: str) -> bytes:
        data = load(ref)
        if rules is not None:
            try:
                width, height = Image.open(io.BytesIO(data)).size  # the header only
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                raise ImageError("image_stored_unreadable") from exc
            check_fits(width, height, [rules])
        return data

    return load_checked


def shown_key(ref: str) -> str:
    """Where the copy people see of image `ref` lives (absent: the model's copy is the one to show)."""
    return "show:" + ref.removeprefix("img:")


def image_ref(data: bytes) -> str:
    return "img:" + hashlib.sha256(data).hexdigest()


class ImageStore:
    """Content-addressed image bytes in Redis; works with a sync or an asyncio client.

    The web stores through `put` (budgets checked by the caller's `Budgets`); workers read with `get_sync`."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.redis = client
        self.settings = settings

    async def put(self, raw: bytes, *, client: str | None = None) -> tuple[str, Copies]:
        """Sanitize (off the event loop: decoding a 20 MP image takes a while) and store both copies within
        the budgets; returns the reference and the stored copies."""
        budgets = Budgets(self.redis, self.settings)
        await budgets.check_memory("upload")
        await budgets.charge_images(client, 0)
        copies = await asyncio.to_thread(sanitize_copies, raw, self.settings)
        ref = image_ref(copies.model)
        separate = copies.shown is not copies.model
        await budgets.charge_images(client, len(copies.model) + (len(copies.shown) if separate else 0))
        await budgets.store(ref, copies.model, kind="image", ex=self.settings.image_ttl_s)
        if separate:
            await budgets.store(shown_key(ref), copies.shown, kind="image", ex=self.settings.image_ttl_s)
        return ref, copies

    def get_sync(self, ref: str) -> bytes:
        data = self.redis.get(ref)
        if data is None:
            raise ImageError("image_expired")
        return bytes(data)
