"""The fused SwiReasoning step and the batched mixture, against the eager controller and float64.

The Triton kernels run in Triton's interpreter on CPU tensors (tests/support/fused_check.py, in `.venv-sglang`,
which has triton): decisions equal the eager controller's on scripted logits (every rule, slots with
their own parameters, exact and near entropy ties) and on a recorded tiny-model decode; and they
compile for sm_90 with that triton's ptxas (tests/support/fused_compile_check.py). On a GPU the
same scenarios run in `python -m bench.swireasoning_gpu` (and in the gpu-marked test here).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import asdict, replace

import pytest
import torch

from bench.swireasoning_exact import SCENARIOS
from swireasoning.controller import SwiRController, member
from swireasoning.decode import SamplingParams, generate
from swireasoning.engine_table import StepInfo
from swireasoning.mixture import blend, blended_shard, mixture_shard
from tests.conftest import SGLANG_PYTHON
from tests.unit.swireasoning.test_swireasoning_rules import EOS, V, cfg
from worker.backends.local import LocalEngine
from worker.ops.devstack import ROOT
from worker.queue.protocol import ChatMessage

PROMPTS = ["Solve 3 + 4 step by step.", "Describe Rio de Janeiro."]


def batch_of(engine: LocalEngine, n: int):
    """Chat prompts as the local engine encodes them (this file's own: the equivalence tests now
    script their logits and no longer keep one)."""
    texts = [engine.render([ChatMessage(role="user", content=p)], True) for p in PROMPTS[:n]]
    return engine.encode(texts, [[] for _ in texts])


class Recorder(SwiRController):
    """The eager controller, keeping what it was given: the events the fused one must replay."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.record: list[tuple] = []

    def step(self, logits, sampled, rows=None):
        self.record.append(("step", logits.clone(), sampled.clone()))
        return super().step(logits, sampled, rows)

    def select(self, keep):
        self.record.append(("select", keep.clone()))
        super().select(keep)


def test_fused_step_makes_the_eager_decisions_in_tritons_interpreter(tiny_model, tmp_path):
    engine = LocalEngine.load(str(tiny_model))
    config = replace(engine.swir_base, max_switch_count=1, window=2, max_new_tokens=16)
    recorder = Recorder(config, 2)
    sampling = SamplingParams(temperature=0.6, top_p=0.95, top_k=20, min_p=0.0)
    g = torch.Generator().manual_seed(1)
    steps = generate(engine.model, batch_of(engine, 2), max_new_tokens=16, sampling=sampling,
                     eos_ids=config.eos_ids, controller=recorder, generator=g)  # fmt: skip
    list(steps)  # whichever path this CPU's floats take: every rule is reached by construction in SCENARIOS
    torch.save({"record": recorder.record, "cfg": asdict(config)}, tmp_path / "record.pt")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([str(SGLANG_PYTHON), "tests/support/fused_check.py", str(tmp_path / "record.pt")], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0 and "fused ok" in out.stdout, out.stdout + out.stderr[-3000:]


def test_the_kernels_compile_for_sm90_without_a_gpu():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TRITON_INTERPRET", None)
    out = subprocess.run([str(SGLANG_PYTHON), "tests/support/fused_compile_check.py"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0 and "compile ok" in out.stdout, out.stdout + out.stderr[-3000:]


def test_one_batched_mixture_equals_the_per_row_mixtures_summed_over_ranks():
    """Every row at once, each with its own k (0: exact), the anchor folded in on the rank that holds
    it: the sum over ranks equals each row's own mixture blended with its anchor."""
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(V, 8, generator=g)
    d = SwiRController(cfg(), 4).step(torch.randn(4, V, generator=g) * 2, torch.tensor([9, 9, 9, 9]))
    ks_host = [0, 3, V, 0]
    ks = torch.tensor(ks_host)
    total = sum(blended_shard(d, emb[s : s + 4], s, ks, max(ks_host), True) for s in (0, 4, 8, 12))
    assert d.probs is not None
    for row, k in enumerate(ks_host):
        mix = mixture_shard(d.probs[row : row + 1], emb, 0, k or None)
        want = blend(mix, d.mix_weight[row : row + 1], emb[d.anchor_id[row : row + 1]], d.anchor_weight[row : row + 1])
        assert torch.allclose(total[row], want[0], atol=1e-5), row


def test_the_step_info_copy_is_read_once_per_batch_in_row_order():
    d = SwiRController(cfg(), 2).step(torch.zeros(2, V), torch.tensor([EOS, 9]))
    info = StepInfo(torch.stack([d.latent, d.switched_to, d.switch_count, d.feed_mixture], 1).int(), [2, 0], 3)
    assert len(info) == 3 and info[1] is None
    assert info[2] == [int(d.latent[0]), 0, 0] and info[0] == [int(d.latent[1]), 0, 0]


def test_member_is_isin_without_its_sorting_path():
    ids = torch.randint(0, 50, (64,))
    table = torch.arange(0, 50, 3)
    assert torch.equal(member(ids, table), torch.isin(ids, table))
    assert not member(ids, table[:0]).any()


@pytest.mark.gpu
def test_fused_step_makes_the_eager_decisions_on_cuda():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    for name, scenario in SCENARIOS.items():
        assert scenario(248_320 if name != "slots" else 4096, "cuda") == [], name
