"""Two web processes behind one Redis (as behind a load balancer with sticky sessions): a reload that
lands on the other process replays the conversation and follows it to the end, a share link made on
one opens on the other, and a client's running-jobs limit holds across both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gradio_client import Client

from tests.support.gradio_wire import component_id, config, load_event, run_event
from tests.support.helpers import chat, last_answer, value
from worker.backends.paced import WORDS
from worker.ops.devstack import answers, env_for, free_port, spawn, stop, wait_for

TOKENS = 300  # the paced backend's 10 ms a token: a 3 s answer, long enough to reload mid-stream


@pytest.fixture(scope="module")
def pair(settings, redis_proc, worker_proc, sglang_worker) -> Iterator[tuple[str, str]]:
    """Two web processes on the same Redis and workers, one browser secret, one running job a client."""
    procs, urls = [], []
    for name in ("web-a", "web-b"):
        s = settings.model_copy(update={"web_port": free_port(), "web_metrics_port": free_port()})
        env = env_for(s, RIO_JOBS_PER_CLIENT="1", RIO_BROWSER_SECRET="shared-by-both-web-processes")
        procs.append(spawn(["-m", "demo"], env, s.var_dir / f"{name}.log"))
        urls.append(f"http://127.0.0.1:{s.web_port}/")
    try:
        for proc, url in zip(procs, urls, strict=True):
            wait_for(lambda url=url: answers(url), 90, "web", proc)
        yield urls[0], urls[1]
    finally:
        for proc in procs:
            stop(proc)


def as_client(url: str, ip: str) -> Client:
    return Client(url, verbose=False, headers={"X-Forwarded-For": ip})


def test_a_reload_that_lands_on_the_other_process_replays_and_finishes(pair):
    a, b = pair
    job = chat(as_client(a, "10.15.0.1"), "Move me.", model="paced", reasoning="off", max_tokens=TOKENS)
    saved, shown = None, ""
    for out in job:  # the page's outputs: chatbot, textbox, stop, resume state (State outputs are dropped)
        shown = last_answer(value(out[0])).answer
        saved = out[-1] if isinstance(out[-1], dict) and "snapshot" in out[-1] else saved
        if saved is not None and shown:
            break
    assert saved is not None and shown, "the page kept no resume state while the answer ran"
    job.cancel()  # the tab goes away; its job runs on

    cfg = config(b)
    chatbot = component_id(cfg, "chat")
    dep = load_event(cfg, resume_id(cfg))
    outputs = list(run_event(b, dep, [saved], {"tab": "chat"}))
    final = last_answer(outputs[-1][dep["outputs"].index(chatbot)])
    # every word, in order, none doubled or changed: the paced backend's exact text
    expected = "".join(WORDS[i % len(WORDS)] + " " for i in range(TOKENS))
    assert final.answer.startswith(shown) and final.answer == expected, final
    assert f"{TOKENS} tokens" in final.footer


def resume_id(cfg: dict) -> int:
    return next(c["id"] for c in cfg["components"] if c.get("type") == "browserstate")


def test_a_share_made_on_one_process_opens_on_the_other(pair):
    a, b = pair
    maker = as_client(a, "10.15.0.2")
    done = last_answer(chat(maker, "Share me.", model="paced", reasoning="off", max_tokens=7).result()[0])
    share_id = value(maker.predict(api_name="/share_chat")).rsplit("=", 1)[1]
    opened = as_client(b, "10.15.0.3").predict(share_id, api_name="/open_share")
    assert last_answer(value(opened[1])).answer == done.answer and "7 tokens" in done.footer


def test_a_running_jobs_limit_holds_across_both_processes(pair):
    a, b = pair
    owner = as_client(a, "10.15.0.4")
    long = chat(owner, "Long.", model="paced", reasoning="off", max_tokens=2000)
    for out in long:
        if last_answer(value(out[0])).answer:
            break
    refused = last_answer(chat(as_client(b, "10.15.0.4"), "Also.", model="paced", max_tokens=5).result()[0])
    assert "You already have 1 answer running (limit 1)." in refused.footer, refused
    other = last_answer(chat(as_client(b, "10.15.0.5"), "Me.", model="paced", max_tokens=5).result()[0])
    assert "5 tokens" in other.footer
    owner.predict(api_name="/stop")
    assert "⏹ Stopped." in last_answer(value(long.result()[0])).footer
