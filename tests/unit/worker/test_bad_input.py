"""Property-based: hundreds of malformed images, prompts and job specs, each answered with a clear error."""

from __future__ import annotations

import io
import json
import struct
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from worker.errors import ImageError, InputError
from worker.intake.images import sanitize_image
from worker.intake.validation import check_message, job_spec, parse_job_spec
from worker.ops.settings import Settings

SETTINGS = Settings(max_image_bytes=2_000_000, max_image_pixels=4_000_000)
RUNS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COUNT = {"images": 0, "prompts": 0, "specs": 0}


def encoded(fmt: str, size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, 128).save(out, format=fmt)
    return out.getvalue()


VALID = [encoded("PNG", (40, 30)), encoded("JPEG", (40, 30)), encoded("GIF", (20, 20), "P"),
         encoded("WEBP", (16, 16)), encoded("BMP", (8, 8)), encoded("TIFF", (8, 8))]  # fmt: skip


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a size its data does not have (a decompression-bomb shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


malformed_images = st.one_of(
    st.binary(max_size=4096),
    st.tuples(st.sampled_from(VALID), st.floats(0, 0.99)).map(lambda t: t[0][: int(len(t[0]) * t[1])]),
    st.tuples(st.sampled_from(VALID), st.integers(0, 10_000), st.integers(0, 255)).map(
        lambda t: t[0][: t[1] % len(t[0])] + bytes([t[2]]) + t[0][t[1] % len(t[0]) + 1 :]
    ),
    st.tuples(st.integers(1, 2**31 - 1), st.integers(1, 2**31 - 1)).map(lambda wh: png_claiming(*wh)),
    st.just(b"GIF89a" + b"\xff" * 64),
)


@RUNS
@given(malformed_images)
def test_malformed_images_are_rejected_plainly_or_come_out_as_clean_png(data):
    COUNT["images"] += 1
    try:
        clean = sanitize_image(data, SETTINGS)
    except ImageError as exc:
        assert exc.message and "Traceback" not in exc.message
        return
    img = Image.open(io.BytesIO(clean))
    assert img.format == "PNG" and img.mode == "RGB" and not img.info.get("exif")


@RUNS
@given(st.text(max_size=40_000), st.lists(st.integers(0, 30_000_000), max_size=8))
def test_prompts_and_payloads_outside_the_limits_get_a_specific_message(text, sizes):
    COUNT["prompts"] += 1
    limits = Settings(max_prompt_chars=20_000, max_images=4, max_payload_bytes=24_000_000)
    try:
        check_message(text, sizes, limits)
    except InputError as exc:
        assert exc.message.endswith(".") and "Traceback" not in exc.message
        return
    assert len(text) <= 20_000 and len(sizes) <= 4 and sum(sizes) <= 24_000_000 and "\x00" not in text
    assert text.strip() or sizes


VALID_SPEC = {"model": "tiny-random", "messages": [{"role": "user", "content": "hi"}],
              "sampling": {"temperature": 0.6, "top_p": 0.95, "top_k": 20, "max_tokens": 64, "seed": 1},
              "reasoning": {"mode": "swireasoning", "max_switch_count": 2, "alpha0": 1.0, "window": 512}}  # fmt: skip
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.integers(0, 300_000)
    | st.floats(allow_nan=True)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
paths = st.sampled_from([("model",), ("messages",), ("sampling", "temperature"), ("sampling", "top_p"),
                         ("sampling", "top_k"), ("sampling", "max_tokens"), ("sampling", "seed"),
                         ("reasoning", "mode"), ("reasoning", "window"), ("reasoning", "alpha0"),
                         ("reasoning", "max_switch_count"), ("id",), ("v",), ("extra",)])  # fmt: skip


@RUNS
@given(st.lists(st.tuples(paths, json_values), min_size=1, max_size=3))
def test_malformed_job_specs_are_refused_with_one_plain_sentence(changes):
    COUNT["specs"] += 1
    spec = json.loads(json.dumps(VALID_SPEC))
    for path, val in changes:
        target = spec
        for part in path[:-1]:
            target = target.setdefault(part, {}) if isinstance(target, dict) else {}
        if isinstance(target, dict):
            target[path[-1]] = val
    cap = Settings().max_new_tokens
    for parse in (lambda: job_spec(spec, Settings()), lambda: parse_job_spec(json.dumps(spec, allow_nan=True))):
        try:
            parsed = parse()
        except InputError as exc:
            assert exc.message and len(exc.message) < 300 and "Traceback" not in exc.message
            continue
        assert parsed.model == spec["model"] and parsed.sampling.max_tokens >= 1
    try:
        accepted = job_spec(spec, Settings())
    except InputError:
        return
    assert accepted.sampling.max_tokens <= cap, "the deployment's RIO_MAX_NEW_TOKENS cap holds"


@RUNS
@given(st.integers(1, 262_144))
def test_max_new_tokens_past_the_deployments_cap_is_refused(max_tokens):
    """RIO_MAX_NEW_TOKENS: the schema allows up to 262144; the deployment caps it lower."""
    cap = Settings().max_new_tokens
    spec = {**VALID_SPEC, "sampling": {**VALID_SPEC["sampling"], "max_tokens": max_tokens}}
    try:
        assert job_spec(spec, Settings()).sampling.max_tokens == max_tokens <= cap
    except InputError as exc:
        assert max_tokens > cap and exc.message == f"Max new tokens must be at most {cap} here."


def test_at_least_200_of_each_were_tried():
    assert min(COUNT.values()) >= 200, COUNT
