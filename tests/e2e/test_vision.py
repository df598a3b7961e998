"""What the models' image processors take: intake refuses what they refuse, and stores what they use."""

from __future__ import annotations

import io
import json
import math
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw
from transformers import Qwen2VLImageProcessorPil
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize as hf_smart_resize

from worker.errors import ImageError
from worker.intake.images import sanitize_image
from worker.intake.vision import QWEN3_5, TINY_RANDOM, VisionRules, check_fits, smart_resize
from worker.ops.settings import Settings

# The web of a deployment that serves Rio 3.5 (and tiny-random): images stored for Qwen3.5's processor
SERVED = Settings(rio_sglang_url="http://127.0.0.1:9", max_image_bytes=10 * 1024 * 1024)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def processor(rules: VisionRules) -> Qwen2VLImageProcessorPil:
    size = {"shortest_edge": rules.min_pixels, "longest_edge": rules.max_pixels}
    return Qwen2VLImageProcessorPil(patch_size=rules.patch, merge_size=rules.merge, temporal_patch_size=2, size=size)


def tokens(rules: VisionRules, width: int, height: int) -> int:
    """Image tokens the model gets, by the processor's own `smart_resize`."""
    h, w = hf_smart_resize(height, width, factor=rules.factor, min_pixels=rules.min_pixels, max_pixels=rules.max_pixels)
    return (h // rules.factor) * (w // rules.factor)


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """Photo-like: smooth colour fields with sensor noise."""
    rng = np.random.default_rng(seed)
    low = Image.fromarray(rng.integers(0, 256, (height // 100, width // 100, 3), dtype=np.uint8))
    fine = np.asarray(low.resize((width, height), Image.Resampling.BICUBIC)).astype(np.int16)
    fine += rng.integers(-5, 6, fine.shape, dtype=np.int16)
    return Image.fromarray(np.clip(fine, 0, 255).astype(np.uint8))


def noise(width: int, height: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8))


def test_smart_resize_is_the_processors_own():
    rng = random.Random(0)
    sizes = [(rng.randint(1, 9000), rng.randint(1, 9000)) for _ in range(400)] + [(1, 200), (200, 1), (1, 201)]
    for rules in (QWEN3_5, TINY_RANDOM):
        # off-grid sides whose grid rounding lands exactly on max_pixels or min_pixels: where `>` and `<` matter
        top, bottom = math.isqrt(rules.max_pixels), math.isqrt(rules.min_pixels)
        edges = [(top + 4, top), (top, top + 4), (bottom + 1, bottom), (bottom, bottom + 1)]
        for h, w in sizes + edges:
            try:
                ours: tuple[int, int] | str = smart_resize(h, w, rules)
            except ValueError:
                ours = "refused"
            try:
                theirs: tuple[int, int] | str = hf_smart_resize(h, w, rules.factor, rules.min_pixels, rules.max_pixels)
            except ValueError:
                theirs = "refused"
            assert ours == theirs, (h, w, rules)


def test_tiny_random_rules_are_its_processors(tiny_model):
    config = json.loads((tiny_model / "preprocessor_config.json").read_text())
    assert config["patch_size"] == TINY_RANDOM.patch and config["merge_size"] == TINY_RANDOM.merge
    assert config["size"] == {"shortest_edge": TINY_RANDOM.min_pixels, "longest_edge": TINY_RANDOM.max_pixels}


@pytest.mark.parametrize(
    ("size", "sentence"),
    [
        ((1, 20000), "This image is 1×20000 pixels: its long side is 20,000 times its short side, and the model "
                     "takes at most 200 to 1. Crop it or send it in parts."),
        ((3000, 14), "This image is 3000×14 pixels: its long side is 214 times its short side"),
        ((10, 12), "This image is 10×12 pixels, smaller than one 16×16 patch the model looks at."),
    ],
)  # fmt: skip
def test_what_the_processor_refuses_is_refused_at_intake_with_its_sentence(size, sentence):
    data = encode(Image.new("RGB", size, (90, 90, 90)), "PNG")
    with pytest.raises(ImageError) as refused:
        sanitize_image(data, SERVED)
    assert refused.value.message.startswith(sentence) and not refused.value.retryable
    if max(size) / min(size) > 200:
        for rules in (QWEN3_5, TINY_RANDOM):
            with pytest.raises(ValueError, match="aspect ratio"):
                processor(rules)(images=[Image.new("RGB", size)], return_tensors="np")


def test_the_ratio_limit_is_exactly_the_processors():
    for rules in (QWEN3_5, TINY_RANDOM):
        check_fits(1, 200, [rules])  # the processor takes 200:1 ...
        processor(rules)(images=[Image.new("RGB", (1, 200))], return_tensors="np")
        with pytest.raises(ImageError):  # ... and refuses anything longer
            check_fits(1, 201, [rules])


@pytest.mark.parametrize(
    ("name", "image", "max_bytes"),
    [
        ("photo", lambda: encode(photo(5000, 4000), "JPEG", quality=93), 3_500_000),  # ~3.9 MB sent, 24 MB as PNG
        ("noise", lambda: encode(noise(5000, 4000), "JPEG", quality=30), 4 * 1024 * 1024),  # 5.6 MB sent, 60 as PNG
    ],
)  # fmt: skip
def test_large_images_are_stored_at_the_models_size_in_few_bytes_with_the_same_image_tokens(name, image, max_bytes):
    raw = image()
    assert len(raw) < SERVED.max_image_bytes, "inside the upload limit"
    stored = sanitize_image(raw, SERVED)
    out = Image.open(io.BytesIO(stored))
    h, w = smart_resize(4000, 5000, QWEN3_5)
    assert out.size == (w, h) == (4576, 3648), "downscaled to what Qwen3.5's processor resizes it to"
    assert out.format == "JPEG" and len(stored) <= max_bytes, (name, len(stored))
    for rules in (QWEN3_5, TINY_RANDOM):
        assert tokens(rules, *out.size) == tokens(rules, 5000, 4000), "the model sees as many image tokens"


def test_small_images_and_screenshots_stay_lossless():
    small = photo(500, 400)
    out = Image.open(io.BytesIO(sanitize_image(encode(small, "JPEG", quality=95), SERVED)))
    assert out.format == "PNG" and out.size == (512, 384), "at most 512²: PNG, on the processor's 32-pixel grid"
    big = Image.open(io.BytesIO(sanitize_image(encode(photo(1200, 900), "JPEG", quality=95), SERVED)))
    assert big.format == "JPEG" and big.size == (1200, 900), "a photo above 512²: JPEG (never enlarged to the grid)"
    screen = Image.new("RGB", (1920, 1088), "white")
    draw = ImageDraw.Draw(screen)
    for y in range(20, 1060, 18):
        draw.text((30, y), f"def budget(client): return redis.incrby(key, n)  # line {y}", fill=(20, 20, 20))
    out = Image.open(io.BytesIO(sanitize_image(encode(screen, "PNG"), SERVED)))
    assert out.format == "PNG" and out.size == (1920, 1088), "a screenshot: PNG keeps it small"
    assert np.array_equal(np.asarray(out), np.asarray(screen)), "lossless"


def test_the_local_engines_processor_refusal_is_an_input_error(tiny_model):
    from worker.backends.local import LocalEngine

    engine = LocalEngine.load(str(tiny_model))
    with pytest.raises(ImageError, match="image processor cannot take an image") as refused:
        engine.encode(["<|vision_start|><|image_pad|><|vision_end|>"], [[Image.new("RGB", (1, 20000))]])
    assert not refused.value.retryable


def test_processor_refused_images_through_the_page_get_their_sentence(web, tmp_path):
    from gradio_client import Client

    from tests.support.helpers import chat

    client = Client(web, verbose=False)
    for size, sentence in (((1, 20000), "times its short side"), ((10, 12), "smaller than one 16×16 patch")):
        path = tmp_path / f"{size[0]}x{size[1]}.png"
        Image.new("RGB", size, (200, 30, 30)).save(path)
        out = chat(client, "What is this?", [str(path)], max_tokens=4).result()
        assert sentence in json.dumps(out[0], ensure_ascii=False), out[0]
        assert "internal error" not in json.dumps(out[0])
        client.predict(api_name="/new_chat")


@pytest.mark.parametrize("model", ["tiny-random", "rio-3.5-open-397b"])  # the local engine, and SGLang
def test_a_job_that_bypasses_intake_ends_with_a_non_retryable_input_error(settings, r, worker_proc, sglang_worker,
                                                                          model):  # fmt: skip
    import asyncio

    from worker.intake.images import image_ref
    from worker.jobs import ChatMessage, ImagePart, JobClient, JobSpec, Sampling, TextPart

    data = encode(Image.new("RGB", (1, 20000), (90, 90, 90)), "PNG")  # stored as is, never sanitized
    ref = image_ref(data)
    r.set(ref, data, ex=600)
    spec = JobSpec(model=model, messages=[ChatMessage(role="user", content=[ImagePart(ref=ref), TextPart(text="?")])],
                   sampling=Sampling(max_tokens=8, seed=1), reasoning={"mode": "off"})  # fmt: skip

    async def go() -> list:
        client = JobClient.from_settings(settings)
        sent = await client.submit(spec)
        events = [e async for e in client.events(sent.id)]
        await client.redis.aclose()
        return events

    end = asyncio.run(go())[-1]
    assert end.type == "error" and end.code == "bad_image" and not end.retryable, end
    assert "1×20000 pixels: its long side is 20,000 times its short side" in end.message
