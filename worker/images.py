"""Images: validated and re-encoded once at the edge, stored in Redis by content hash.

Validation sniffs the content (never the file name), bounds bytes and pixels before decoding
(decompression bombs), applies EXIF rotation, flattens animation/alpha/CMYK/16-bit to 8-bit RGB and
re-encodes as PNG without metadata. Workers read the bytes back by reference (`img:<sha256>`).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from worker.errors import ImageError
from worker.settings import Settings

ALLOWED_FORMATS = {"PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"}
IMAGE_TTL_S = 7 * 24 * 3600


def sanitize_image(data: bytes, settings: Settings) -> bytes:
    """Return clean PNG bytes for `data`, or raise `ImageError` with a message a person can act on."""
    if len(data) > settings.max_image_bytes:
        mb = settings.max_image_bytes // (1024 * 1024)
        raise ImageError(f"Image is {len(data) / 1e6:.1f} MB; the limit is {mb} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in ALLOWED_FORMATS:
                raise ImageError(f"Unsupported image type {img.format}; use PNG, JPEG, GIF, WEBP, BMP or TIFF.")
            width, height = img.size
            if width * height > settings.max_image_pixels:
                raise ImageError(
                    f"Image is {width}×{height} pixels; the limit is {settings.max_image_pixels / 1e6:.0f} megapixels."
                )
            img.seek(0)  # first frame of an animation
            img.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("Image rejected: it expands to far more pixels than it claims.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("That file is not a readable image (it may be corrupt or truncated).") from exc
    return _reencode(img)


def _reencode(img: Image.Image) -> bytes:
    img = ImageOps.exif_transpose(img) or img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v / 256).convert("L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        background = Image.new("RGB", img.size, (255, 255, 255))
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        img = background
    img = img.convert("RGB")
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


def image_ref(data: bytes) -> str:
    return "img:" + hashlib.sha256(data).hexdigest()


class ImageStore:
    """Content-addressed image bytes in Redis; works with a sync or an asyncio client."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.redis = client
        self.settings = settings

    async def put(self, raw: bytes) -> tuple[str, bytes]:
        """Sanitize and store; returns the reference and the clean bytes."""
        clean = sanitize_image(raw, self.settings)
        ref = image_ref(clean)
        await self.redis.set(ref, clean, ex=IMAGE_TTL_S)
        return ref, clean

    def get_sync(self, ref: str) -> bytes:
        data = self.redis.get(ref)
        if data is None:
            raise ImageError("An image of this conversation has expired; please attach it again.")
        return bytes(data)
