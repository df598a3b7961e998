"""The SwiReasoning plugin for SGLang: what can be proven without a GPU.

- Its hook targets resolve, with the parameters it relies on, in the installed sglang 0.5.23, and
  register on SGLang's real HookRegistry (tests/sglang_check_hooks.py, in `.venv-sglang`).
- Its per-step decisions come from the same controller as the local engine's, even when requests
  join a batch at different times and sit in arbitrary slots (`SwiRTable`).
- It is registered under the entry-point group SGLang scans.
Mixtures per vocabulary shard summed over ranks equal the full one: tests/test_swireasoning_rules.py.
"""

from __future__ import annotations

import os
import subprocess
import tomllib

import torch

from swireasoning.controller import SwiRController
from swireasoning.engine_table import SwiRTable
from tests.conftest import SGLANG_PYTHON
from tests.test_swireasoning_rules import EOS, cfg
from worker.devstack import ROOT


def run_check() -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([str(SGLANG_PYTHON), "tests/sglang_check_hooks.py"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_every_hook_target_resolves_in_sglang_0_5_23():
    out = run_check()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all 6 ok" in out.stdout


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
        table.admit(rid, {}, max_new_tokens=40)
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
    table.admit("a", {"window": 3}, max_new_tokens=10)
    table.step(["a"], torch.zeros(1, 16), torch.tensor([9]))
    assert "a" in table.latent_seen and int(table.controller.window[table.slots["a"]]) == 3
    table.release("a")
    assert not table.slots and not table.latent_seen
    table.admit("b", {}, max_new_tokens=10)
    table.admit("c", {}, max_new_tokens=10)
    assert set(table.slots) == {"b", "c"}


def test_a_prompt_chunk_does_not_step_the_controller():
    table = SwiRTable(cfg(), capacity=2)
    table.admit("a", {}, max_new_tokens=10, prompt_len=100)
    assert table.step(["a"], torch.zeros(1, 16), torch.tensor([9]), extended_to=[64]) is None  # chunk 1 of 2
    assert int(table.controller.step_[table.slots["a"]]) == 0
    assert table.step(["a"], torch.zeros(1, 16), torch.tensor([9]), extended_to=[100]) is not None
    assert int(table.controller.step_[table.slots["a"]]) == 1
