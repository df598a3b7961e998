"""The API for programs as a stranger meets it: the "Use via API" page (which endpoints, which input
names), the plain values of `/ask`, `/models`, `/shared` and the share links, and the README's two
examples (`gradio_client`, `@gradio/client`) run as written against the real web on loopback."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.support.helpers import chat, last_answer
from worker.ops.devstack import ROOT

KNOBS = ["temperature", "top_p", "top_k", "max_tokens", "seed", "max_switch_count", "window", "alpha0"]
SIDES = ["model_a", "reasoning_a", "model_b", "reasoning_b"]
ENDPOINTS = {
    "/ask": ["message", "model", "reasoning", *KNOBS],
    "/models": [],
    "/shared": ["share"],
    "/chat": ["message", "model", "reasoning", *KNOBS],
    "/stop": [],
    "/new_chat": [],
    "/share_chat": [],
    "/compare": ["message", *SIDES, *KNOBS],
    "/regenerate": [*SIDES, *KNOBS],
    "/stop_a": [],
    "/stop_b": [],
    "/stop_both": [],
    "/new_compare": [],
    "/share_compare": [],
    "/battle": ["message", *KNOBS],
    "/vote_a": [],
    "/vote_b": [],
    "/vote_tie": [],
    "/vote_both_bad": [],
    "/new_battle": [],
    "/leaderboard": [],
    "/leaderboard_signed_in": [],
}
THINKING, ANSWER = "Let me think about Rio.", "Rio de Janeiro is a city."  # the SGLang stand-in's reply
README_URL = "http://127.0.0.1:7860/"  # the examples' address (`make demo`); the tests' web is elsewhere
NODE_DIR = ROOT / "var" / "node"  # `make node-client` installs @gradio/client here


@pytest.fixture()
def client(web) -> Client:
    return Client(web, verbose=False)


def test_the_api_page_lists_the_intended_endpoints_and_names_every_input(client):
    info = client.view_api(print_info=False, return_format="dict")
    listed = {name: [p["parameter_name"] for p in e["parameters"]] for name, e in info["named_endpoints"].items()}
    assert listed == ENDPOINTS
    assert info["unnamed_endpoints"] == {}


def test_ask_returns_the_answer_its_thinking_and_stats(client):
    reply = client.predict(message="Tell me about Rio.", model="rio-3.5-open-397b", reasoning="thinking",
                           api_name="/ask")  # fmt: skip
    assert (reply["thinking"].strip(), reply["answer"].strip()) == (THINKING, ANSWER)
    assert reply["finish"] == "stop" and reply["error"] is None
    assert reply["stats"]["completion_tokens"] >= 1 and reply["stats"]["ttft_ms"] >= 0
    plain = client.predict(message="Tell me about Rio.", model="rio-3.5-open-397b", reasoning="off", api_name="/ask")
    assert (plain["thinking"], plain["answer"].strip()) == ("", ANSWER), "reasoning reaches the model"


def test_ask_takes_the_knobs_by_name(client):
    reply = client.predict(message="Count.", model="paced", reasoning="off", max_tokens=7, api_name="/ask")
    assert reply["stats"]["completion_tokens"] == 7 and reply["finish"] == "length"
    assert len(reply["answer"].split()) == 7


def test_ask_says_what_is_wrong_with_bad_input(client):
    empty = client.predict(message="  ", model="paced", api_name="/ask")
    assert (empty["error"], empty["answer"]) == ("Type a message or attach an image.", "")
    unknown = client.predict(message="Hi", model="no-such-model", api_name="/ask")
    assert unknown["error"] == "Unknown model 'no-such-model'.", unknown


def test_models_lists_the_keys_model_takes(client):
    models = {m["key"]: m for m in client.predict(api_name="/models")}
    assert {"paced", "tiny-random", "rio-3.5-open-397b"} <= models.keys()
    assert models["paced"]["down"] is None and models["paced"]["label"]
    assert all(m["default_reasoning"] in ("swireasoning", "thinking", "off") for m in models.values())


def test_share_chat_returns_a_plain_link_that_shared_reads_back(client):
    assert client.predict(api_name="/share_chat") == "Nothing to share yet: ask something first."
    answer = last_answer(chat(client, "Share me.", model="paced", reasoning="off", max_tokens=5).result()[0]).answer
    link = client.predict(api_name="/share_chat")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?share=[\w-]+", link), link
    snapshot = client.predict(share=link, api_name="/shared")
    side = snapshot["sides"][0]
    assert (snapshot["kind"], side["model"], side["sampling"]["max_tokens"]) == ("chat", "paced", 5)
    assert side["turns"][0]["user_text"] == "Share me." and side["turns"][0]["answer"] == answer
    with pytest.raises(AppError, match=r"share link is malformed|No shared conversation has that link"):
        client.predict(share="no-such-share", api_name="/shared")


def readme_example(language: str) -> str:
    """The fenced block after `<!-- api-example: <language> -->` in the README, its address set to `web`."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- api-example: {language} -->\n```\w+\n(.*?)```", readme, re.S)
    assert found, f"the README has no {language} API example"
    assert found.group(1).count(README_URL) == 1, "the example connects to make demo's address, once"
    return found.group(1)


def test_the_readme_python_example_runs_as_written(web, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(readme_example("python").replace(README_URL, web))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True)
    assert THINKING in out.stdout and ANSWER in out.stdout and "no error" in out.stdout, out.stdout
    assert re.search(r"^http://\S+/\?share=[\w-]+$", out.stdout, re.M), "a plain link: " + out.stdout


def test_the_readme_javascript_example_runs_as_written(web):
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the @gradio/client example needs Node 20")
    assert (NODE_DIR / "node_modules" / "@gradio" / "client").is_dir(), "run `make node-client` (part of make test)"
    script = NODE_DIR / f"example-{uuid.uuid4().hex[:8]}.mjs"  # beside node_modules, where the import resolves
    script.write_text(readme_example("javascript").replace(README_URL, web))
    try:
        out = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=120)
    finally:
        script.unlink()
    assert out.returncode == 0, out.stderr
    assert THINKING in out.stdout and ANSWER in out.stdout and "no error" in out.stdout, out.stdout
