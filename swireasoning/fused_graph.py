"""The SGLang plugin's per-step device work as one CUDA graph replay per batch shape.

What the sample hook does for its SwiReasoning rows after sampling (the fused controller step at the
rows' slots, the "ever fed a mixture" flags, the ids to emit, every row's blended mixture on this
rank's shard, and, on one rank, the slot writes) is some 15-25 small launches: launch-bound. Here it
is captured once per (rows, k_max, any exact row) and replayed; the host only fills static inputs:
the logits (copied there instead of the hook's clone), the sampled ids, and one pinned copy of the
rows' slots and top-k. The eager path (`SwiRTable.step` + `sglang_plugin.stash_mixtures`) stays the
reference; the bench and tests compare the two.

Warm-up and capture run the step for real, so the static slots point at the table's scratch slot
(no request has it) until the first replay's inputs are written. Without CUDA (Triton's interpreter
on a CPU) the same body runs eagerly on the same buffers, so the CPU tests cover all but the capture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from swireasoning.controller import Directive
from swireasoning.engine_table import SwiRTable
from swireasoning.mixture import blended_shard

MAX_GRAPHS = 64  # batch shapes kept captured; others run eagerly


@dataclass
class SlotWrites:
    """Where the step leaves each row's next input (one rank: written inside the graph)."""

    embeds: Tensor  # [slots, hidden]
    flag: Tensor  # [slots] bool


class CapturedStep:
    """One batch shape's step: static inputs are views of the shared buffers of `StepGraphs`."""

    def __init__(self, owner: StepGraphs, rows: int, k_max: int, any_exact: bool) -> None:
        self.owner, self.rows, self.k_max, self.any_exact = owner, rows, k_max, any_exact
        self.logits, self.sampled = owner.logits[:rows], owner.sampled[:rows]
        self.slots, self.ks = owner.meta[0, :rows], owner.meta[1, :rows]
        self.replay: Callable[[], object] = self.body
        self.ids: Tensor | None = None
        self.mixed: Tensor | None = None
        self.directive: Directive | None = None
        if owner.capture:
            self.replay = self._captured()

    def body(self) -> None:
        table, owner = self.owner.table, self.owner
        d = table.controller.fused_step(self.logits, self.sampled, rows=self.slots)
        table.ever_fed[self.slots] = table.ever_fed[self.slots] | d.feed_mixture
        self.ids = torch.where(d.budget_hit, table.cfg.eos_ids[0], d.ids)
        ks = self.ks if self.k_max else None
        self.mixed = blended_shard(d, owner.shard, owner.start, ks, self.k_max, self.any_exact)
        if owner.writes is not None:
            owner.writes.embeds[self.slots] = self.mixed.to(owner.writes.embeds.dtype)
            owner.writes.flag[self.slots] = d.feed_mixture
        self.directive = d

    def _captured(self) -> Callable[[], object]:
        self.slots.fill_(self.owner.table.scratch)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):  # compiles the Triton kernels, sets up cuBLAS, on the scratch slot
                self.body()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.owner.pool):
            self.body()
        self.graph = graph
        return graph.replay


class StepGraphs:
    """The captured steps of one table and one embedding shard; inputs shared by every shape."""

    def __init__(self, table: SwiRTable, shard: Tensor, start: int, vocab: int, max_rows: int = 256,
                 writes: SlotWrites | None = None) -> None:  # fmt: skip
        dev = shard.device
        self.table, self.shard, self.start, self.writes = table, shard, start, writes
        self.capture = dev.type == "cuda"
        self.pool = torch.cuda.graph_pool_handle() if self.capture else None
        self.max_rows = max_rows
        self.logits = torch.zeros(max_rows, vocab, dtype=torch.float32, device=dev)
        self.sampled = torch.zeros(max_rows, dtype=torch.long, device=dev)
        self.meta = torch.zeros(2, max_rows, dtype=torch.long, device=dev)  # slots, top-k per row
        self.steps: dict[tuple[int, int, bool], CapturedStep] = {}

    def fits(self, rows: int, k_max: int, any_exact: bool) -> bool:
        key = (rows, k_max, any_exact)
        return rows <= self.max_rows and (key in self.steps or len(self.steps) < MAX_GRAPHS)

    def step(self, rows: int, k_max: int, any_exact: bool) -> CapturedStep:
        key = (rows, k_max, any_exact)
        if key not in self.steps:
            self.steps[key] = CapturedStep(self, rows, k_max, any_exact)
        return self.steps[key]

    def run(self, sampled: Tensor, slots: list[int], ks: list[int], any_exact: bool) -> CapturedStep:
        """The step of len(slots) rows whose logits the caller already wrote to `self.logits`."""
        rows = len(slots)
        captured = self.step(rows, max(ks), any_exact)
        captured.sampled.copy_(sampled)
        host = torch.tensor([slots, ks], dtype=torch.long)
        if captured.slots.is_cuda:
            host = host.pin_memory()
        self.meta[:, :rows].copy_(host, non_blocking=True)
        captured.replay()
        return captured
