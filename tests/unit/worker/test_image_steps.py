"""The steps of image intake one by one (`worker/intake/images.py`): each bound at its edge, each mode's
flattening by value, the encoding chosen by its rule, and the worker-side check of stored images."""

from __future__ import annotations

import hashlib
import io
import random
import time
from collections.abc import Iterator

import pytest
import redis
from PIL import Image

from tests.unit.worker.test_images import S, encode, gradient
from tests.unit.worker.test_limits_redis import run
from worker.errors import ImageError, OverBudget, StoreFull
from worker.intake import images
from worker.intake.images import (
    JPEG_LADDER,
    LOSSLESS_PIXELS,
    ImageStore,
    checked_loader,
    compact,
    decode,
    flatten,
    sample,
)
from worker.intake.vision import TINY_RANDOM
from worker.ops import redis_server
from worker.ops.devstack import free_port, stop
from worker.ops.metrics import REGISTRY
from worker.ops.settings import Settings


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


@pytest.mark.parametrize(("mode", "key"), [("RGB", (0, 0, 0)), ("L", 7)])
def test_a_key_colour_marked_transparent_is_white_too(mode, key):
    """A PNG's tRNS colour in an RGB or grey image: it showed as itself (often black) before."""
    img = decode(encode(Image.new(mode, (4, 4), key), "PNG", transparency=key), S)
    assert flatten(img).getpixel((0, 0)) == (255, 255, 255)
    assert flatten(decode(encode(Image.new(mode, (4, 4), key), "PNG"), S)).getpixel((0, 0)) != (255, 255, 255)


@pytest.mark.parametrize("mode", ["LA", "PA"])
def test_opaque_pixels_with_an_alpha_channel_keep_their_colour(mode):
    img = Image.new(mode, (2, 2), (100, 255))
    if mode == "PA":
        img.putpalette([0, 0, 0] * 100 + [10, 20, 30] + [0, 0, 0] * 155)
    assert flatten(img).getpixel((0, 0)) == ((100, 100, 100) if mode == "LA" else (10, 20, 30))


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
    with pytest.raises(ImageError) as ten:
        decode(b"\0" * (10 * 2**20 + 1), Settings())
    assert ten.value.message == "Image is 10.5 MB; the limit is 10 MB."


@pytest.mark.parametrize("side", [10_000, 20_000])  # past Pillow's warning (89 MP), and past its error (179 MP)
def test_a_decompression_bomb_is_refused_as_one_where_our_own_pixel_limit_is_higher(side):
    bomb = encode(Image.new("1", (side, side)), "PNG")
    with pytest.raises(ImageError) as refused:
        decode(bomb, Settings(max_image_pixels=10**9))
    assert refused.value.message == "Image rejected: it expands to far more pixels than it claims."


def test_a_photo_whose_exif_is_corrupt_is_taken():
    """Pillow warns about it while reading; only its bomb warning is an error here."""
    data = encode(Image.new("RGB", (8, 6)), "JPEG", exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff")
    with pytest.warns(UserWarning, match="Corrupt EXIF"):
        assert decode(data, S).size == (8, 6)


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


def test_the_shown_copy_is_scaled_down_to_its_long_side_never_up_never_to_nothing():
    assert images.display_size(800, 600, 1280) == (800, 600) and images.display_size(1280, 960, 1280) == (1280, 960)
    assert images.display_size(2560, 1000, 1280) == (1280, 500)
    assert images.display_size(10_000, 3, 1280) == (1280, 1) and images.display_size(3, 10_000, 1280) == (1, 1280)


def test_the_rules_given_are_the_ones_used():
    data = encode(noise(300, 200), "PNG")
    assert Image.open(io.BytesIO(images.sanitize_image(data, S, []))).size == (300, 200)  # no vision model
    assert Image.open(io.BytesIO(images.sanitize_copies(data, S, []).model)).size == (300, 200)
    assert Image.open(io.BytesIO(images.sanitize_image(data, S, [TINY_RANDOM]))).size != (300, 200)


def test_jpeg_quality_steps_down_only_until_it_fits():
    img = noise(600, 600)
    rungs = [encode(img, "JPEG", quality=q, subsampling=sub, optimize=False) for q, sub in JPEG_LADDER]
    assert compact(img, img.size, len(rungs[2])) == rungs[2]
    assert compact(img, img.size, len(rungs[2]) - 1) == rungs[3]
    small = noise(200, 200)  # lossless by size, but its PNG does not fit: the ladder again
    png, jpeg = encode(small, "PNG", optimize=False), encode(small, "JPEG", quality=90, subsampling=0, optimize=False)
    assert compact(small, small.size, len(png)) == png, "a PNG of exactly the limit fits"
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
    near_png = encode(near, "PNG", optimize=False)
    assert compact(near, near.size, 10**7) == near_png
    assert compact(near, near.size, len(near_png)) == near_png, "a large PNG of exactly the limit fits"
    jpeg = encode(near, "JPEG", quality=90, subsampling=0, optimize=False)
    assert compact(near, near.size, len(near_png) - 1) == jpeg, "the PNG does not fit"
    assert compact(far, far.size, 10**7) == encode(far, "JPEG", quality=90, subsampling=0, optimize=False)
    shot_png = encode(shot, "PNG", optimize=False)  # smaller than every JPEG rung: with none fitting, the PNG
    assert len(shot_png) < len(encode(shot, "JPEG", quality=10, subsampling=2, optimize=False))
    assert compact(shot, shot.size, len(shot_png)) == shot_png


def test_the_judging_sample_is_the_central_512_square():
    img = noise(1000, 800)
    crop = sample(img)
    assert crop.size == (512, 512) and crop.getpixel((0, 0)) == img.getpixel((244, 144))
    assert crop.getpixel((511, 511)) == img.getpixel((755, 655))
    small = noise(300, 200)
    assert sample(small).size == (300, 200) and sample(small).tobytes() == small.tobytes()
    odd = noise(1003, 803)  # odd margins: the crop starts at (245, 145), not at Pillow's rounding of 245.5
    assert sample(odd).getpixel((0, 0)) == odd.getpixel((245, 145))


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


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Iterator[Settings]:
    """A Redis of this file's own; 1 MB of images per visitor an hour, kept 10 minutes."""
    s = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", var_dir=tmp_path_factory.mktemp("var"),
                 image_mb_per_hour=1, image_ttl_s=600)  # fmt: skip
    proc = redis_server.start(s)
    yield s
    stop(proc)


def put(settings: Settings, *uploads: bytes, client: str = "ip:1") -> list:
    """`ImageStore.put` of each upload, on a fresh asyncio client, as the web does."""

    async def work(aio) -> list:
        return [await ImageStore(aio, settings).put(data, client=client) for data in uploads]

    return run(settings, work)


def image_bytes_stored() -> float:
    return REGISTRY.get_sample_value("rio_stored_bytes_total", {"kind": "image"}) or 0.0


def test_the_store_keeps_each_copy_by_content_for_its_time_charges_both_and_workers_read_them(stored):
    sync = redis.Redis.from_url(stored.redis_url)
    sync.flushall()
    before = image_bytes_stored()
    big = encode(gradient(2000, 1500), "PNG")  # two sizes: two copies
    small = encode(noise(96, 64), "PNG")  # already on the model's grid and under 1280 px: one copy
    (ref, copies), (small_ref, small_copies) = put(stored, big, small)
    assert copies.shown != copies.model and small_copies.shown is small_copies.model
    assert ref == images.image_ref(copies.model) and sync.get(ref) == copies.model
    assert sync.get(images.shown_key(ref)) == copies.shown and 590 <= sync.ttl(images.shown_key(ref)) <= 600
    assert sync.get(small_ref) == small_copies.model and not sync.exists(images.shown_key(small_ref))
    assert 590 <= sync.ttl(ref) <= 600
    every = len(copies.model) + len(copies.shown) + len(small_copies.model)
    assert int(sync.get(f"budget:ip:1:img:{int(time.time() // 3600)}")) == every, "both copies, nothing else"
    assert image_bytes_stored() - before == every
    worker = ImageStore(sync, stored)
    assert worker.get_sync(ref) == copies.model
    with pytest.raises(ImageError) as gone:
        worker.get_sync("img:" + "0" * 64)
    assert gone.value.message == "An image of this conversation has expired; please attach it again."


def test_a_visitor_without_image_budget_left_is_refused_before_anything_is_stored(stored):
    sync = redis.Redis.from_url(stored.redis_url)
    sync.flushall()
    sync.set(f"budget:ip:2:img:{int(time.time() // 3600)}", 2**20, ex=3600)  # this hour's megabyte spent
    with pytest.raises(OverBudget) as refused:
        put(stored, encode(noise(64, 64), "PNG"), client="ip:2")
    assert refused.value.message.startswith("You have sent 1 MB of images this hour, the limit per visitor.")
    with pytest.raises(OverBudget):  # before decoding: not "not a readable image"
        put(stored, b"not an image at all", client="ip:2")
    assert not sync.keys("img:*") and put(stored, encode(noise(64, 64), "PNG"), client="ip:3")


def test_a_full_store_refuses_uploads_with_their_own_sentence(stored):
    sync = redis.Redis.from_url(stored.redis_url)
    sync.flushall()
    sync.set("filler", b"x" * 3 * 2**20)
    with pytest.raises(StoreFull) as full:
        put(stored.model_copy(update={"store_budget_mb": 1}), encode(noise(64, 64), "PNG"))
    assert full.value.message.startswith("The demo's storage is full right now, so it cannot take images.")
    assert not sync.keys("img:*")
