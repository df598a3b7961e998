"""The radix-insert rule on SGLang 0.5.23's real hybrid radix cache, on the CPU (runs in `.venv-sglang`).

The cache is the one SGLang builds for Qwen3.5 (a `UnifiedRadixCache` with FULL + MAMBA components,
`extra_buffer` Mamba snapshots, page size 64, as in sglang_config/), built with SGLang's own unit-test
kit. Requests go through SGLang's own `checkpoint_kv_cache` after prefill and `release_kv_cache` at
finish; the plugin's hooks are applied by SGLang's real `HookRegistry`, so `release_kv_cache` here is
the wrapped function a server would call. Prints one line per check and "radix ok" at the end.

    PYTHONPATH=. .venv-sglang/bin/python tests/support/sglang_check_radix.py
"""

from __future__ import annotations

import sys
from array import array

from tests.support import sglang_cpu

sglang_cpu.install()

import torch  # noqa: E402
from sglang.srt.managers.schedule_batch import FINISH_LENGTH, Req  # noqa: E402
from sglang.srt.mem_cache import common  # noqa: E402
from sglang.srt.mem_cache.unified_cache.components.base import ComponentType  # noqa: E402
from sglang.srt.plugins.hook_registry import HookRegistry  # noqa: E402
from sglang.srt.sampling.sampling_params import SamplingParams  # noqa: E402
from sglang.test.kits.unified_radix_cache import fixtures  # noqa: E402
from sglang.test.kits.unified_radix_cache.config import CacheConfig  # noqa: E402

from swireasoning import sglang_plugin  # noqa: E402
from swireasoning.controller import SwiRConfig  # noqa: E402
from swireasoning.engine_table import SwiRTable  # noqa: E402

PAGE = 64
CFG = CacheConfig(page_size=PAGE, components=(ComponentType.FULL, ComponentType.MAMBA),
                  enable_mamba_extra_buffer=True, mamba_cache_size=60, kv_size=2048, max_context_len=1024)  # fmt: skip
VOCAB = 16
SWIR = SwiRConfig(think_id=1, end_think_id=2, linebreak_id=3, eos_ids=(0,), convergence_ids=(2,),
                  termination_ids=(2, 3), window=4, max_new_tokens=128)  # fmt: skip


class Serving:
    """One scheduler's view of a request: prefill, checkpoint, decode, finish, through SGLang's code."""

    def __init__(self) -> None:
        fixtures.get_device = lambda *_: "cpu"  # the kit asks for an accelerator; the pools work on the CPU
        self.cache, self.allocator, self.pool = fixtures.build_fixture(CFG)
        self.next_rid = 0

    def request(self, prompt: list[int], swireasoning: bool) -> Req:
        custom = {sglang_plugin.PARAMS_KEY: {"window": 4}} if swireasoning else None
        params = SamplingParams(temperature=0, max_new_tokens=128, custom_params=custom)
        req = Req(rid=f"r{self.next_rid}", origin_input_text="", origin_input_ids=array("q", prompt),
                  sampling_params=params)  # fmt: skip
        self.next_rid += 1
        sglang_plugin.on_new_request(req, None, None)  # the AFTER hook on Scheduler._create_generation_req
        return req

    def prefill(self, req: Req) -> int:
        """Match the tree, compute the rest of the prompt, checkpoint it; returns the cached length."""
        self.pool.alloc([req])
        req.init_next_round_input(self.cache)
        req.lock = self.cache.lock(req.last_node)  # as the scheduler's prefill admission does
        cached, total = req.prefix_len, len(req.origin_input_ids)
        slots = torch.cat([self.cache.prefix_device_indices(req), self.allocator.alloc(total - cached)])
        self.pool.write((req.kv.req_pool_idx, slice(0, total)), slots)
        req.kv.kv_committed_len = req.kv.kv_allocated_len = total
        req.extend_end = total
        self._track_mamba(req, total)
        common.checkpoint_kv_cache(req, self.cache)
        return cached

    def decode(self, req: Req, steps: int) -> None:
        """`steps` decode steps: the plugin's table steps on each (as in ModelRunner.sample)."""
        gen = torch.Generator().manual_seed(len(req.origin_input_ids))
        for _ in range(steps):
            logits = torch.randn(1, VOCAB, generator=gen)
            sampled = torch.randint(4, VOCAB, (1,), generator=gen)
            outcome = sglang_plugin.RUNTIME.table.step([req.rid], logits, sampled) if self._swir(req) else None
            token = int(outcome.ids[0]) if outcome is not None else int(sampled[0])
            req.output_ids.append(token)
            start = req.kv.kv_committed_len
            self.pool.write((req.kv.req_pool_idx, slice(start, start + 1)), self.allocator.alloc(1))
            req.kv.kv_committed_len = req.kv.kv_allocated_len = start + 1
        self._track_mamba(req, req.kv.kv_committed_len // PAGE * PAGE)

    def finish(self, req: Req) -> None:
        req.finished_reason = FINISH_LENGTH(length=len(req.output_ids))
        common.release_kv_cache(req, self.cache, checkpoint=True)

    def hit(self, tokens: list[int]) -> int:
        return fixtures.match_prefix(self.cache, tokens).device_prefix_len

    def _swir(self, req: Req) -> bool:
        return req.rid in sglang_plugin.RUNTIME.table.slots

    def _track_mamba(self, req: Req, seqlen: int) -> None:
        """A Mamba state snapshot at `seqlen` (the model's extra_buffer tracking does this on a GPU)."""
        pool = self.pool
        req.kv.mamba_prev_track_seqlen = req.kv.mamba_last_track_seqlen
        req.kv.mamba_last_track_seqlen = seqlen
        req.kv.mamba_last_track_idx = 0
        req.kv.mamba_next_track_idx = pool.get_mamba_ping_pong_other_idx(0)


def check(name: str, ok: bool, detail: str) -> bool:
    print(f"{'ok' if ok else 'FAIL'} {name}: {detail}")
    return ok


def main() -> int:
    sglang_plugin.register()
    HookRegistry.apply_hooks()  # every target of the plugin, imported and wrapped for real
    sglang_plugin.RUNTIME.table = SwiRTable(SWIR, capacity=8)
    s = Serving()
    mamba_free_before = s.pool.mamba_allocator.available_size()
    kv_free_before = s.allocator.available_size()

    prompt, other = list(range(10, 10 + 2 * PAGE)), list(range(500, 500 + 2 * PAGE))
    swir, plain = s.request(prompt, swireasoning=True), s.request(other, swireasoning=False)
    results = [check("swireasoning request admitted", s._swir(swir) and not s._swir(plain), "slot only for it")]
    for req in (swir, plain):
        s.prefill(req)
        s.decode(req, steps=PAGE + 6)
    results.append(check("latent steps ran", swir.rid in sglang_plugin.RUNTIME.table.latent_seen, "first step latent"))
    swir_full, plain_full = prompt + list(swir.output_ids), other + list(plain.output_ids)
    for req in (swir, plain):
        s.finish(req)

    results += [
        check("latent request inserts only its prompt", s.hit(swir_full) == len(prompt),
              f"tree holds {s.hit(swir_full)} of its {len(swir_full)} tokens (prompt {len(prompt)})"),
        check("plain request inserts its output too", s.hit(plain_full) == 3 * PAGE,
              f"tree holds {s.hit(plain_full)} of {len(plain_full)} (the last tracked Mamba state)"),
        check("plugin slot freed at release",
              not s._swir(swir) and swir.rid not in sglang_plugin.RUNTIME.table.latent_seen, "table empty"),
    ]  # fmt: skip

    again = s.request([*prompt, 7, 8, 9], swireasoning=True)
    cached = s.prefill(again)
    results.append(check("same prompt hits the prefix cache", cached == len(prompt), f"{cached} cached tokens"))
    s.decode(again, steps=3)
    s.finish(again)

    tree_kv, tree_mamba = s.cache.full_evictable_size(), s.cache.mamba_evictable_size()
    kv_free, mamba_free = s.allocator.available_size(), s.pool.mamba_allocator.available_size()
    results += [
        check("no KV slot leaked", kv_free + tree_kv == kv_free_before,
              f"free {kv_free} + tree {tree_kv} = {kv_free + tree_kv} of {kv_free_before}"),
        check("no Mamba slot leaked", mamba_free + tree_mamba == mamba_free_before,
              f"free {mamba_free} + tree {tree_mamba} = {mamba_free + tree_mamba} of {mamba_free_before}"),
    ]  # fmt: skip
    print("radix ok" if all(results) else f"{results.count(False)} radix checks failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
