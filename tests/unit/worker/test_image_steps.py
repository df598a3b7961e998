"""The steps of image intake one by one (`worker/intake/images.py`): each bound at its edge, each mode's
flattening by value, the encoding chosen by its rule, and the worker-side check of stored images."""

from __future__ import annotations

import hashlib
import io
import random

import pytest
from PIL import Image

from worker.errors import ImageError
from worker.intake import images
from worker.intake.images import JPEG_LADDER, LOSSLESS_PIXELS, checked_loader, compact, decode, flatten, sample
from worker.intake.vision import TINY_RANDOM
from worker.ops.settings import Settings

S = Settings(max_image_bytes=2_000_000, max_image_pixels=4_000_000)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    """Detail no encoder can shrink: PNG stays far above the JPEG."""
    return Image.frombytes("RGB", (width, height), random.Random(seed).randbytes(width * height * 3))


def screenshot(width: int, height: int) -> Image.Image:
    """Flat colours and hard edges: PNG near (here below) the JPEG's size."""
    img = Image.new("RGB", (width, height), (250, 250, 250))
    for i, y in enumerate(range(0, height, 40)):
        img.paste((20 * (i % 12), 90, 200), (10, y, width // 2 + 10 * (i % 7), y + 18))
    return img


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I;16L", "I"])
def test_16_bit_and_32_bit_grey_is_scaled_down_by_256(mode):
    assert flatten(Image.new(mode, (2, 2), 40000)).getpixel((1, 1)) == (156, 156, 156)  # 40000 / 256


def test_a_big_endian_16_bit_tiff_is_taken():
    """Pillow decodes it as I;16B, whose `point` raised a ValueError: an internal error for a valid image."""
    out = Image.open(io.BytesIO(images.sanitize_image(encode(Image.new("I;16B", (16, 16), 40000), "TIFF"), S)))
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (156, 156, 156)


@pytest.mark.parametrize(
    ("img", "want"),
    [
        (Image.new("RGBA", (2, 2), (0, 0, 255, 0)), (255, 255, 255)),  # transparent: the white behind
        (Image.new("RGBA", (2, 2), (0, 0, 0, 255)), (0, 0, 0)),  # opaque: itself
        (Image.new("LA", (2, 2), (0, 0)), (255, 255, 255)),
        (Image.new("PA", (2, 2), (0, 0)), (255, 255, 255)),
    ],
)
def test_transparency_is_composed_over_white(img, want):
    assert flatten(img).getpixel((0, 0)) == want and flatten(img).mode == "RGB"


def test_a_palette_with_a_transparent_index_is_composed_over_white():
    img = Image.new("P", (2, 2), 3)
    img.putpalette([0, 0, 0] * 256)
    opaque = flatten(img).getpixel((0, 0))
    img.info["transparency"] = 3
    assert opaque == (0, 0, 0) and flatten(img).getpixel((0, 0)) == (255, 255, 255)


def test_bytes_and_pixels_are_bounded_at_their_limits():
    png = encode(Image.new("L", (8, 8)), "PNG")
    at_limit = png + b"\0" * (S.max_image_bytes - len(png))  # bytes after IEND are ignored by readers
    assert decode(at_limit, S).size == (8, 8)
    with pytest.raises(ImageError) as over:
        decode(at_limit + b"\0", S)
    assert over.value.message == "Image is 2.0 MB; the limit is 1 MB."  # the limit said in whole MiB
    assert decode(encode(Image.new("L", (2000, 2000)), "PNG"), S).size == (2000, 2000)  # exactly 4 megapixels
    with pytest.raises(ImageError) as pixels:
        decode(encode(Image.new("L", (2000, 2001)), "PNG"), S)
    assert pixels.value.message == "Image is 2000×2001 pixels; the limit is 4 megapixels."


def test_formats_outside_the_list_are_refused_by_name():
    with pytest.raises(ImageError) as refused:
        decode(encode(Image.new("RGB", (8, 8)), "PPM"), S)
    assert refused.value.message == "Unsupported image type PPM; use PNG, JPEG, GIF, WEBP, BMP or TIFF."
    for fmt in ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"):
        assert decode(encode(Image.new("RGB", (8, 6)), fmt), S).size == (8, 6), fmt


def test_up_to_512_squared_pixels_stay_lossless_above_it_noise_is_jpeg():
    at = noise(512, 512)
    assert LOSSLESS_PIXELS == 512 * 512 and compact(at, at.size, 10**7).startswith(b"\x89PNG")
    above = noise(513, 512)
    out = compact(above, above.size, 10**7)
    assert out == encode(above, "JPEG", quality=90, subsampling=0, optimize=False)


def test_a_resize_gives_the_size_asked_for():
    assert Image.open(io.BytesIO(compact(noise(300, 200), (150, 100), 10**7))).size == (150, 100)


def test_jpeg_quality_steps_down_only_until_it_fits():
    img = noise(600, 600)
    rungs = [encode(img, "JPEG", quality=q, subsampling=sub, optimize=False) for q, sub in JPEG_LADDER]
    assert compact(img, img.size, len(rungs[2])) == rungs[2]
    assert compact(img, img.size, len(rungs[2]) - 1) == rungs[3]
    small = noise(200, 200)  # lossless by size, but its PNG does not fit: the ladder again
    png, jpeg = encode(small, "PNG", optimize=False), encode(small, "JPEG", quality=90, subsampling=0, optimize=False)
    assert compact(small, small.size, len(png) - 1) == jpeg


def test_nothing_that_fits_is_refused_with_the_limit_in_mb():
    with pytest.raises(ImageError) as refused:
        compact(noise(600, 600), (600, 600), 2500)
    assert refused.value.message == "This image holds too much detail to store in 0 MB; send a smaller one."


def banded(fraction: float) -> Image.Image:
    """A flat page with a band of noise across `fraction` of its height."""
    img = Image.new("RGB", (1200, 900), (250, 250, 250))
    band = int(900 * fraction)
    img.paste(noise(1200, band), (0, (900 - band) // 2))
    return img


def test_large_images_are_png_while_it_stays_within_one_and_a_half_times_the_jpeg():
    shot = screenshot(1200, 900)  # PNG far below the JPEG
    assert compact(shot, shot.size, 10**7) == encode(shot, "PNG", optimize=False)
    near, far = banded(0.05), banded(0.3)  # PNG / JPEG 1.26 and 1.53 (their central samples 1.37 and 1.58)
    assert compact(near, near.size, 10**7) == encode(near, "PNG", optimize=False)
    jpeg = encode(near, "JPEG", quality=90, subsampling=0, optimize=False)
    assert compact(near, near.size, len(encode(near, "PNG", optimize=False)) - 1) == jpeg, "the PNG does not fit"
    assert compact(far, far.size, 10**7) == encode(far, "JPEG", quality=90, subsampling=0, optimize=False)


def test_the_judging_sample_is_the_central_512_square():
    img = noise(1000, 800)
    crop = sample(img)
    assert crop.size == (512, 512) and crop.getpixel((0, 0)) == img.getpixel((244, 144))
    assert crop.getpixel((511, 511)) == img.getpixel((755, 655))
    small = noise(300, 200)
    assert sample(small).size == (300, 200) and sample(small).tobytes() == small.tobytes()


def test_stored_images_are_checked_against_the_models_processor_on_the_worker():
    good = encode(Image.new("RGB", (64, 64)), "PNG")
    stored = {"img:good": good, "img:junk": b"not an image", "img:thin": encode(Image.new("RGB", (4000, 10)), "PNG")}
    load = checked_loader(stored.__getitem__, TINY_RANDOM)
    assert load("img:good") == good
    with pytest.raises(ImageError) as junk:
        load("img:junk")
    assert junk.value.message == "An image of this conversation is not readable; please attach it again."
    with pytest.raises(ImageError) as thin:
        load("img:thin")
    assert thin.value.key == "image_ratio"
    assert checked_loader(stored.__getitem__, None)("img:junk") == b"not an image"  # no rules: as stored


def test_references_name_the_content_and_its_shown_copy():
    data = b"some image bytes"
    ref = images.image_ref(data)
    assert ref == "img:" + hashlib.sha256(data).hexdigest()
    assert images.shown_key(ref) == "show:" + hashlib.sha256(data).hexdigest()
