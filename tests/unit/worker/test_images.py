"""Image intake: sniffed by content, bounded before decoding, re-encoded clean."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from worker.errors import ImageError
from worker.intake.images import sanitize_copies, sanitize_image
from worker.intake.vision import TINY_RANDOM
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


def gradient(width: int, height: int) -> Image.Image:
    return Image.linear_gradient("L").resize((width, height)).convert("RGB")


def test_people_get_a_copy_up_to_1280_px_while_the_model_gets_its_own_size():
    settings = Settings(max_image_bytes=20_000_000, max_image_pixels=20_000_000)
    copies = sanitize_copies(encode(gradient(5000, 4000), "PNG"), settings, [TINY_RANDOM])
    assert Image.open(io.BytesIO(copies.model)).size == (128, 96)
    assert Image.open(io.BytesIO(copies.shown)).size == (1280, 1024)
    assert copies.model == sanitize_image(encode(gradient(5000, 4000), "PNG"), settings, [TINY_RANDOM])


def test_one_copy_when_the_sizes_agree():
    copies = sanitize_copies(encode(gradient(120, 90), "PNG"), S, [])  # no vision model: the original size
    assert copies.shown is copies.model and Image.open(io.BytesIO(copies.shown)).size == (120, 90)
