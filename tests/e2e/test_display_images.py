"""Images shown at a size for people: a 5000×4000 photo is shown at 1280×1024 in the chat and in its share
link, while the job gets the models' own copy (the largest size a configured model's processor takes:
here Rio 3.5's, 4576×3648; with the tiny model alone, 128×96), which the tiny model reads as 128×96."""

from __future__ import annotations

import io
import json
import re

import pytest
from gradio_client import Client
from PIL import Image

from tests.support.helpers import chat, last_answer, value
from worker.intake.vision import configured_rules, stored_size


@pytest.fixture(scope="module")
def client(web) -> Client:
    return Client(web, verbose=False)


def shown_sizes(messages: list[dict]) -> list[tuple[int, int]]:
    """The pixel size of each image in a pane, as the page serves it."""
    files = [p for m in messages if isinstance(m["content"], list) for p in m["content"] if p.get("type") == "file"]
    return [Image.open(p["file"]).size for p in files]


def test_a_large_photo_is_shown_at_1280_px_and_the_model_gets_its_size(client, r, settings, tmp_path):
    path = tmp_path / "photo.png"
    Image.linear_gradient("L").resize((5000, 4000)).convert("RGB").save(path)
    messages = chat(client, "What is in this photo?", [str(path)], max_tokens=4).result()[0]
    assert shown_sizes(messages) == [(1280, 1024)]
    prompt = int(re.search(r"prompt (\d+)", last_answer(messages).footer).group(1))
    link = value(client.predict(api_name="/share_chat"))
    share_id = link.rsplit("share=", 1)[-1]
    [ref] = json.loads(r.get(f"share:{share_id}"))["sides"][0]["turns"][0]["image_refs"]
    model_size = stored_size(5000, 4000, configured_rules(settings))
    assert model_size not in ((1280, 1024), (5000, 4000))
    assert Image.open(io.BytesIO(r.get(ref))).size == model_size, "the job's image is the models' copy"
    client.predict(api_name="/new_chat")
    text_only = last_answer(chat(client, "What is in this photo?", max_tokens=4).result()[0])
    # 128x96: 8x6 patches of 16 px merged 2x2 -> 12 image tokens, + vision start/end
    assert prompt - int(re.search(r"prompt (\d+)", text_only.footer).group(1)) == 12 + 2
    client.predict(api_name="/new_chat")
    shared = client.predict(share_id, api_name="/open_share")
    assert shown_sizes(value(shared[1])) == [(1280, 1024)], "the share link shows the copy for people"
