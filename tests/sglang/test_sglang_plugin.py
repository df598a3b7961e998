"""The SwiReasoning plugin for SGLang: what can be proven without a GPU.

- Its hook targets import, with the parameters it relies on, from the installed sglang 0.5.23, and
  SGLang's real HookRegistry registers and wraps them (tests/support/sglang_check_hooks.py, in `.venv-sglang`).
- On SGLang's real hybrid radix cache (FULL + MAMBA, extra_buffer, page 64) a request that ran latent
  steps inserts only its prompt, a plain one its output too, a repeat of the prompt hits, and no KV or
  Mamba slot leaks (tests/support/sglang_check_radix.py).
- Switch counts travel through SGLang's real chat stream (and non-streaming response) with the hooks
  applied, and the demo's SGLang backend reads them back (tests/support/sglang_check_stream.py).
- Decode graphs stay on for latent batches: the row buffers allocated before SGLang's real runner
  captures are the ones filled before replay and read by the hooked forward (tests/support/sglang_check_graph.py).
- Its per-step decisions come from the same controller as the local engine's, even when requests
  join a batch at different times and sit in arbitrary slots (`SwiRTable`).
- It is registered under the entry-point group SGLang scans.
Mixtures per vocabulary shard summed over ranks equal the full one: tests/unit/swireasoning/test_swireasoning_rules.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import tomllib

import pytest
import torch

from swireasoning.controller import SwiRController, SwiRParams
from swireasoning.engine_table import SwiRTable
from swireasoning.progress import TO
from swireasoning.sglang_plugin import HOOKS
from tests.conftest import SGLANG_PYTHON
from tests.unit.swireasoning.test_swireasoning_rules import EOS, cfg
from worker.backends.sglang import _Stream
from worker.ops.devstack import ROOT
from worker.queue.protocol import ReasoningDelta, Stats, Switch


def run_check(script: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([str(SGLANG_PYTHON), f"tests/support/{script}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_every_hook_target_resolves_in_sglang_0_5_23():
    out = run_check("sglang_check_hooks.py")
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    assert f"all {len(HOOKS)} ok" in out.stdout


def test_decode_graphs_read_the_row_buffers_the_plugin_fills_before_replay():
    out = run_check("sglang_check_graph.py")
    assert out.returncode == 0 and "graph ok" in out.stdout, out.stdout + out.stderr[-3000:]


def test_latent_requests_insert_only_their_prompt_in_sglangs_radix_cache():
    out = run_check("sglang_check_radix.py")
    assert out.returncode == 0 and "radix ok" in out.stdout, out.stdout + out.stderr[-3000:]


@pytest.fixture(scope="module")
def streamed() -> dict:
    out = run_check("sglang_check_stream.py")
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def read(chunks: list[str]) -> list:
    """The demo's SGLang backend reading SSE data lines, as it does off the wire."""
    stream, events = _Stream(time.perf_counter()), []
    for chunk in chunks:
        data = chunk.removeprefix("data: ").strip()
        events += list(stream.on_done() if data == "[DONE]" else stream.on_data(data, "Rio 3.5"))
    return events


def test_switch_counts_reach_the_demo_through_sglangs_chat_stream(streamed):
    entries, totals = streamed["entries"], streamed["totals"]
    events = read(streamed["swireasoning"])
    switches = [(e.to, e.step, e.count) for e in events if isinstance(e, Switch)]
    assert switches == [(TO[s], i, c) for i, (_, s, c) in enumerate(entries) if s]
    assert len(switches) >= 4  # the table really switched, both ways
    stats = next(e for e in events if isinstance(e, Stats))
    assert (stats.switches, stats.latent_steps) == (totals["switch_count"], totals["latent_tokens"])
    reasoning = [e for e in events if isinstance(e, ReasoningDelta)]
    assert [e.delta for e in reasoning] == [f"w{i} " for i in range(len(reasoning))]
    assert [e.latent for e in reasoning] == [bool(entries[i][0]) for i in range(len(reasoning))]
    assert streamed["metadata"]["swireasoning"]["switch_count"] == totals["switch_count"]  # non-streaming
    assert streamed["swir_meta_has_steps"] and streamed["folds_left"] == 0


def test_requests_without_swireasoning_stream_exactly_as_sglang_does(streamed):
    assert streamed["plain_same_as_unhooked"]
    assert not any("swireasoning" in key for key in streamed["plain_meta_keys"])
    assert not any(isinstance(e, Switch) for e in read(streamed["plain"]))


def test_the_plugin_is_an_sglang_entry_point():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["sglang.srt.plugins"]["rio_swireasoning"] == "swireasoning.sglang_plugin:register"


def test_plugin_and_local_engine_make_the_same_decisions_on_the_same_logits():
    g = torch.Generator().manual_seed(0)
    steps = [torch.randn(3, 16, generator=g) * (1 + i % 5) for i in range(40)]
    sampled = [torch.randint(6, 16, (3,), generator=g) for _ in range(40)]
    config = cfg(max_switch_count=1, window=2, max_new_tokens=40)

    local = SwiRController(config, 3)  # the local engine: one batch, all rows started together
    table = SwiRTable(config, capacity=8)  # the plugin: slots, rows listed in the engine's own order
    for rid in ("c", "a", "b"):
        table.admit(rid, SwiRParams(), max_new_tokens=40)
    order = ["b", "x", "a", "c"]  # engine batch: another request "x" without SwiReasoning sits in it
    for logits, ids in zip(steps, sampled, strict=True):
        want = local.step(logits, ids)
        rows = {"a": 0, "b": 1, "c": 2}
        engine_logits = torch.stack([logits[rows[r]] if r in rows else torch.zeros(16) for r in order])
        engine_ids = torch.stack([ids[rows[r]] if r in rows else torch.tensor(0) for r in order])
        got = table.step(order, engine_logits, engine_ids)
        assert got is not None and got.rids == ["b", "a", "c"] and got.positions == [0, 2, 3]
        perm = [rows[r] for r in got.rids]
        expected_ids = torch.where(want.budget_hit, EOS, want.ids)[perm]
        assert torch.equal(got.ids, expected_ids)
        assert torch.equal(got.directive.feed_mixture, want.feed_mixture[perm])
        assert torch.equal(got.directive.to_explicit, want.to_explicit[perm])
        assert torch.allclose(got.directive.mix_weight, want.mix_weight[perm])
    assert table.latent_seen == {"a", "b", "c"}


def test_released_requests_free_their_slot_and_their_cache_mark():
    table = SwiRTable(cfg(), capacity=2)
    table.admit("a", SwiRParams(window=3), max_new_tokens=10)
    table.step(["a"], torch.zeros(1, 16), torch.tensor([9]))
    assert "a" in table.latent_seen and int(table.controller.window[table.slots["a"]]) == 3
    table.release("a")
    assert not table.slots and not table.latent_seen
    table.admit("b", SwiRParams(), max_new_tokens=10)
    table.admit("c", SwiRParams(), max_new_tokens=10)
    assert set(table.slots) == {"b", "c"}


def test_a_prompt_chunk_does_not_step_the_controller():
    table = SwiRTable(cfg(), capacity=2)
    table.admit("a", SwiRParams(), max_new_tokens=10, prompt_len=100)
    assert table.step(["a"], torch.zeros(1, 16), torch.tensor([9]), extended_to=[64]) is None  # chunk 1 of 2
    assert int(table.controller.step_[table.slots["a"]]) == 0
    assert table.step(["a"], torch.zeros(1, 16), torch.tensor([9]), extended_to=[100]) is not None
    assert int(table.controller.step_[table.slots["a"]]) == 1


def test_a_progress_message_the_backend_cannot_read_does_not_end_the_answer(streamed):
    chunks = [c.replace('"version": 1', '"version": 99') for c in streamed["swireasoning"]]
    events = read(chunks)
    assert not any(isinstance(e, Switch) for e in events)
    assert "".join(e.delta for e in events if isinstance(e, ReasoningDelta)).startswith("w0 w1 ")
    assert next(e for e in events if isinstance(e, Stats)).completion_tokens == streamed["totals"]["tokens"]
