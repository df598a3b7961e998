"""The plugin's decode-graph path against SGLang 0.5.23's real runner class, on the CPU (runs in `.venv-sglang`).

Why the plugin has its own buffers: SGLang's `dllm_uses_input_embeds` replay path passes its
`input_embeds` buffer only to a model whose top-level `forward` takes `input_embeds`; Qwen3.5's
(`Qwen3_5ForConditionalGeneration`, via Qwen3-VL) does not, while the language model it calls
(`Qwen3_5ForCausalLM.forward`, hooked) does. So the hook on that forward reads the plugin's row
buffers, allocated before `DecodeCudaGraphRunner.capture`, and the runner's `can_run_graph` hook
writes each batch into them before a replay. Checked here, with the real classes where they run on
a CPU: the buffer allocated at capture is the one written before replay and the one the forward
reads; latent batches keep the graph; rows without SwiReasoning get their token embeddings; after a
release nothing stale is fed. Twice: the sample hook's eager path (RIO_SWIR_STEP_GRAPHS=0), then its
captured-step path (swireasoning/fused_graph.py; in Triton's interpreter, so run uncaptured).

    PYTHONPATH=. .venv-sglang/bin/python tests/support/sglang_check_graph.py
"""

from __future__ import annotations

import inspect
import os
import sys

os.environ["TRITON_INTERPRET"] = "1"  # before triton compiles anything: kernels run on CPU tensors
from types import SimpleNamespace

from tests.support import sglang_cpu

sglang_cpu.install()

import torch  # noqa: E402
from sglang.srt.model_executor.forward_batch_info import ForwardMode  # noqa: E402
from sglang.srt.model_executor.runner.decode_cuda_graph_runner import DecodeCudaGraphRunner  # noqa: E402
from sglang.srt.models.qwen3_5 import Qwen3_5ForCausalLM  # noqa: E402
from sglang.srt.models.qwen3_vl import Qwen3VLForConditionalGeneration  # noqa: E402

from swireasoning import sglang_plugin as plugin  # noqa: E402
from swireasoning.controller import SwiRConfig, SwiRParams  # noqa: E402
from swireasoning.engine_table import SwiRTable  # noqa: E402
from swireasoning.mixture import blend, mixture  # noqa: E402

V, D, MAX_TOKENS = 16, 8, 6
SWIR = SwiRConfig(think_id=1, end_think_id=2, linebreak_id=3, eos_ids=(0,), window=2, max_new_tokens=60)


class Embedding(torch.nn.Embedding):
    """VocabParallelEmbedding's attributes on one rank (the whole vocabulary)."""

    def __init__(self) -> None:
        super().__init__(V, D)
        self.shard_indices = SimpleNamespace(org_vocab_start_index=0, org_vocab_end_index=V)
        self.tp_size = 1


def check(name: str, ok: bool) -> bool:
    print(("ok   " if ok else "FAIL ") + name)
    return ok


def main() -> int:
    results = []
    for graphed in (False, True):
        os.environ["RIO_SWIR_STEP_GRAPHS"] = "1" if graphed else "0"
        plugin.RUNTIME = plugin.Runtime()
        print(f"-- sample hook: {'captured-step' if graphed else 'eager'} path")
        results += one_pass(graphed)
    print("graph ok" if all(results) else "graph FAILED")
    return 0 if all(results) else 1


def one_pass(graphed: bool) -> list[bool]:
    results = [
        check("SGLang's input_embeds replay path cannot reach Qwen3.5 (top-level forward has no input_embeds)",
              "input_embeds" not in inspect.signature(Qwen3VLForConditionalGeneration.forward).parameters),
        check("the hooked language-model forward takes input_embeds",
              "input_embeds" in inspect.signature(Qwen3_5ForCausalLM.forward).parameters),
    ]  # fmt: skip
    embed = Embedding().requires_grad_(False)
    model = SimpleNamespace(get_input_embeddings=lambda: embed)
    runner = object.__new__(DecodeCudaGraphRunner)  # the real class; its capture is the stand-in below
    runner.model_runner = SimpleNamespace(model=model)
    runner.buffers = SimpleNamespace(input_ids=torch.zeros(MAX_TOKENS, dtype=torch.long))
    plugin.around_capture(lambda r: None, runner)
    rows = plugin.RUNTIME.row_inputs
    assert rows is not None
    captured_ptr = rows.embeds.data_ptr()
    results.append(check("row buffers sized by the runner's token buffer", rows.embeds.shape == (MAX_TOKENS, D)))

    plugin.RUNTIME.table = table = SwiRTable(SWIR, capacity=4)
    for rid in ("a", "b"):
        table.admit(rid, SwiRParams(), max_new_tokens=60)
    batch = SimpleNamespace(rids=["a", "x", "b"], forward_mode=ForwardMode.DECODE)
    logits = torch.randn(3, V, generator=torch.Generator().manual_seed(0)) * 2
    out = SimpleNamespace(next_token_logits=logits.clone(), customized_info=None)
    ids = plugin.around_sample(lambda *a: torch.tensor([9, 10, 11]), SimpleNamespace(model=model), out, batch)
    results.append(check("first step: both SwiReasoning rows feed a mixture", bool(table.ever_fed[[0, 1]].all())))
    results.append(check("the sample hook took the path asked for", (plugin.RUNTIME.graphs is not None) == graphed))

    ok = plugin.around_can_run_graph(lambda r, fb: True, runner, batch)
    results.append(check("a batch with latent rows keeps the graph", ok is True))
    fed = {}
    plugin.around_forward(lambda m, i, p, fb, e: fed.setdefault("e", e), model, ids, None, batch, None)
    probs = torch.softmax(logits[[0, 2]], -1)
    d = table.controller  # step 0: weight 0.9 on the mixture, 0.1 on the line break
    want = blend(mixture(probs, embed.weight), torch.full((2,), 0.9), embed.weight[[3, 3]], torch.full((2,), 0.1))
    results += [
        check("the captured buffer is the one written before replay", rows.embeds.data_ptr() == captured_ptr),
        check("latent rows get their blended mixture", torch.allclose(fed["e"][[0, 2]], want, atol=1e-5)),
        check("a row without SwiReasoning gets its token's embedding", torch.equal(fed["e"][1], embed.weight[10])),
        check("controller stepped once", int(d.step_[0]) == 1),
    ]
    release = SimpleNamespace(rid="a", skip_radix_cache_insert=False)
    plugin.around_release(lambda req, cache: None, release, None)
    results.append(check("a request fed a mixture skips the radix insert", release.skip_radix_cache_insert))
    plain = SimpleNamespace(rids=["x", "y"], forward_mode=ForwardMode.DECODE)
    plugin.around_can_run_graph(lambda r, fb: True, runner, plain)
    results.append(check("a batch without SwiReasoning rows is fed no stale mixture", not bool(rows.flag.any())))
    big = SimpleNamespace(rids=["b"] + [f"p{i}" for i in range(MAX_TOKENS + 1)], forward_mode=ForwardMode.DECODE)
    ids_big = torch.full((MAX_TOKENS + 2,), 5)
    plugin.around_forward(lambda m, i, p, fb, e: fed.__setitem__("big", e), model, ids_big, None, big, None)
    results += [
        check("a batch larger than the captured buffers runs eagerly on its own buffers",
              plugin.RUNTIME.row_inputs is rows and rows.embeds.data_ptr() == captured_ptr),
        check("... and still gets its mixture (row b's, from the step above)",
              torch.allclose(fed["big"][0], want[1], atol=1e-5)),
        check("... and every other row its token's embedding",
              torch.equal(fed["big"][1:], embed.weight[5].expand(MAX_TOKENS + 1, D))),
    ]  # fmt: skip
    return results


if __name__ == "__main__":
    sys.exit(main())
