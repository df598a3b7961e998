"""Image intake: sniffed by content, bounded before decoding, re-encoded clean."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from worker.errors import ImageError
from worker.intake.images import sanitize_image
from worker.ops.settings import Settings

S = Settings(max_image_bytes=2_000_000, max_image_pixels=4_000_000)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_clean_png_without_metadata_and_exif_rotation_applied():
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display
    exif[0x010F] = "SecretCam"
    out = Image.open(io.BytesIO(sanitize_image(encode(img, "JPEG", exif=exif), S)))
    assert out.format == "PNG" and out.size == (20, 40) and out.mode == "RGB"
    assert not out.getexif() and "exif" not in out.info


@pytest.mark.parametrize(
    ("img", "fmt"),
    [
        (Image.new("RGBA", (16, 16), (0, 0, 255, 0)), "PNG"),
        (Image.new("CMYK", (16, 16), (0, 255, 0, 0)), "JPEG"),
        (Image.new("I;16", (16, 16), 40000), "PNG"),
        (Image.new("P", (16, 16), 3), "GIF"),
    ],
)
def test_unusual_modes_become_8bit_rgb(img, fmt):
    out = Image.open(io.BytesIO(sanitize_image(encode(img, fmt), S)))
    assert out.mode == "RGB"


def test_animated_gif_keeps_the_first_frame():
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out = Image.open(io.BytesIO(sanitize_image(buf.getvalue(), S)))
    assert out.getpixel((0, 0))[0] > 200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not an image at all", "not a readable image"),
        (encode(Image.new("RGB", (64, 64)), "PNG")[:60], "not a readable image"),
        (b"\x00" * 3_000_000, "limit is 1 MB"),
        (encode(Image.new("L", (4000, 1001)), "PNG"), "megapixels"),
    ],
)
def test_bad_images_get_a_specific_message(data, message):
    with pytest.raises(ImageError, match=message):
        sanitize_image(data, S)


def test_decompression_bomb_is_refused_before_decoding():
    bomb = encode(Image.new("1", (20_000, 20_000)), "PNG")  # ~50 KB on disk, 400 megapixels
    assert len(bomb) < 100_000
    with pytest.raises(ImageError):
        sanitize_image(bomb, Settings())
