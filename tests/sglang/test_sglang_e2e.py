"""The production path with SGLang's wire format: Gradio -> Celery -> SGLang backend -> contract server;
and the launch configs, parsed by SGLang's own config merger and argument parser."""

from __future__ import annotations

import subprocess
import time

import pytest
from gradio_client import Client

from tests.conftest import SGLANG_PYTHON
from tests.support.helpers import chat, last_answer
from worker.ops.devstack import ROOT


@pytest.fixture(scope="module")
def client(web) -> Client:
    return Client(web, verbose=False)


def test_every_launch_config_parses_with_sglangs_own_parser():
    configs = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "sglang_config").glob("*.yaml"))
    assert len(configs) >= 7
    out = subprocess.run([str(SGLANG_PYTHON), "tests/support/sglang_check_configs.py", *configs], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(": ok") == len(configs)


def test_a_misspelled_flag_fails_the_check(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model-path: x\ntp_size: 8\n")
    out = subprocess.run([str(SGLANG_PYTHON), "tests/support/sglang_check_configs.py", str(bad)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode != 0 and "--tp_size" in out.stdout + out.stderr


def test_rio_streams_from_sglang_to_the_page(client):
    # [[paced]]: the contract server spaces its deltas 50 ms apart, so the answer arrives in pieces
    job = chat(client, "Tell me about Rio. [[paced]]", model="rio-3.5-open-397b", reasoning="thinking", max_tokens=64)
    updates = [last_answer(out[0]) for out in job]
    final = last_answer(job.result()[0])
    client.predict(api_name="/new_chat")
    assert final.thinking == "Let me think about Rio. " and final.answer == "Rio de Janeiro is a city."
    partial = [u.answer for u in updates if u.answer and u.answer != final.answer]
    assert partial and all(final.answer.startswith(p) for p in partial), "the answer is seen growing"
    assert "prompt 40" in final.footer


def test_a_down_model_says_so_before_anyone_waits(client):
    deadline = time.monotonic() + 20  # the worker publishes health within its first check
    while True:
        t0 = time.monotonic()
        final = last_answer(chat(client, "Hello?", model="qwen3.5-397b-a17b").result()[0])
        client.predict(api_name="/new_chat")
        if "down right now" in final.footer or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert "This model is down right now (unreachable" in final.footer
    assert time.monotonic() - t0 < 2


def test_the_model_picker_marks_a_down_model(client):
    deadline = time.monotonic() + 20
    while True:
        choices = client.predict(api_name="/model_choices")[0]["choices"]
        labels = {key: label for label, key in choices}
        if labels["qwen3.5-397b-a17b"].endswith(" — down") or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert labels["qwen3.5-397b-a17b"] == "Qwen3.5-397B-A17B — down"
    assert labels["rio-3.5-open-397b"] == "Rio 3.5 Open 397B"
