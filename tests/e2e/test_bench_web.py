"""`bench.web`'s load generator against the real web: chats whose first tokens it times hop by hop
(joined with the web's hop log), and page loads to an interactive page. The bench must not rot: its
`/chat` payload follows the page's inputs, and every hop it reports is a real, ordered moment."""

from __future__ import annotations

import json

import httpx

from bench.web import HOPS, hop_times, loadgen
from demo.hops import WEB_HOPS
from worker.ops.settings import Settings

TOKENS = 6


def test_chats_are_timed_hop_by_hop_from_the_page_event_to_the_token_shown(web, settings: Settings):
    result = loadgen(web, 3, "--tokens", str(TOKENS), "--interval-s", "0.02")
    sessions = result["sessions"]
    assert [(s["error"], s["tokens"]) for s in sessions] == [("", TOKENS)] * 3
    assert settings.hop_log is not None
    logged = {}
    for line in settings.hop_log.read_text().splitlines():
        entry = json.loads(line)
        logged[entry["session"]] = entry
    ms = 0.002  # Redis stamps its entries to the millisecond
    for s in sessions:
        web_hops, worker = logged[s["session"]]["web"], logged[s["session"]]["worker"]
        at = [web_hops[h] for h in WEB_HOPS]
        assert at == sorted(at) and s["joined_at"] <= at[0] and at[-1] <= s["shown_at"]
        assert web_hops["stored"] - ms <= worker["enqueued"] <= web_hops["published"] + ms
        assert worker["enqueued"] <= worker["started"] <= worker["written"] <= web_hops["read"] + ms
    hops = hop_times(sessions, settings.hop_log)
    assert hops["sessions"] == 3
    assert all(-1000 * ms <= hops[name]["p50_ms"] <= hops[name]["p99_ms"] < 60_000 for name, _, _ in HOPS)


def test_page_loads_run_every_load_event_to_an_interactive_page(web):
    config = httpx.get(web + "config").json()
    loads = [d for d in config["dependencies"] if any(t[1] == "load" for t in d["targets"])]
    result = loadgen(web, 2, "--page-load")
    assert len(loads) >= 3  # the language and footer, deep links and resume, models marked down
    for s in result["sessions"]:
        assert s["error"] == "" and s["load_events"] == len(loads) and s["interactive_s"] > 0
