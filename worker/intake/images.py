"""Images: validated and re-encoded once at the edge, stored compactly in Redis by content hash.

Validation sniffs the content (never the file name), bounds bytes and pixels before decoding
(decompression bombs), applies EXIF rotation, flattens animation/alpha/CMYK/16-bit to 8-bit RGB and
refuses what the configured models' image processors would refuse (`worker.intake.vision`). What is stored is
what the models use: the image at the largest size any configured processor resizes it to (never
larger than sent), without metadata, as PNG where that is small (up to 512², or screenshots and
diagrams that PNG keeps near the JPEG's size) and as JPEG otherwise (quality 90, 4:4:4), its quality
stepped down only until it fits `max_stored_image_bytes`. Workers read the bytes back by reference
(`img:<sha256>`).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import warnings
from collections.abc import Callable
from typing import Any

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


def sanitize_image(data: bytes, settings: Settings, rules: list[VisionRules] | None = None) -> bytes:
    """Clean, compact bytes for `data` at the models' size, or `ImageError` with a sentence a person can act on."""
    img = decode(data, settings)
    rules = configured_rules(settings) if rules is None else rules
    check_fits(img.width, img.height, rules)
    return compact(flatten(img), stored_size(img.width, img.height, rules), settings.max_stored_image_bytes)


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
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v / 256).convert("L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
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


def image_ref(data: bytes) -> str:
    return "img:" + hashlib.sha256(data).hexdigest()


class ImageStore:
    """Content-addressed image bytes in Redis; works with a sync or an asyncio client.

    The web stores through `put` (budgets checked by the caller's `Budgets`); workers read with `get_sync`."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.redis = client
        self.settings = settings

    async def put(self, raw: bytes, *, client: str | None = None) -> tuple[str, bytes]:
        """Sanitize (off the event loop: decoding a 20 MP image takes a while) and store within the
        budgets; returns the reference and the stored bytes."""
        budgets = Budgets(self.redis, self.settings)
        await budgets.check_memory("upload")
        await budgets.charge_images(client, 0)
        clean = await asyncio.to_thread(sanitize_image, raw, self.settings)
        ref = image_ref(clean)
        await budgets.charge_images(client, len(clean))
        await budgets.store(ref, clean, kind="image", ex=self.settings.image_ttl_s)
        return ref, clean

    def get_sync(self, ref: str) -> bytes:
        data = self.redis.get(ref)
        if data is None:
            raise ImageError("image_expired")
        return bytes(data)
