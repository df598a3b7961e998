"""Several requests, one decode loop: continuous batching for the local engine.

An engine thread owns the model. Requests are admitted between steps, each into its own row with
its own sampling parameters, generator and (for SwiReasoning) its own slot of one shared
`SwiRController`; a finished, exhausted or cancelled request frees its row before the next step.

Two row sets share the engine: `StaticRows` (plain-attention models: every running row in one
captured static-cache step, see `static_decode`) and `EagerRows` (any other model, e.g. hybrid
linear attention: each request runs `decode.generate` and the loop interleaves them, one step each).
A request's tokens are those of `decode.generate` run alone with the same generator.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor

from swireasoning.controller import Directive, SwiRConfig, SwiRController, SwiRParams
from swireasoning.decode import PromptBatch, SamplingParams, Step, draw, filter_logits, generate
from swireasoning.fused import FusedSwiRController
from swireasoning.host_copy import HostCopy
from swireasoning.mixture import next_embeddings
from swireasoning.slots import SlotTable
from swireasoning.static_decode import (
    GraphedStep,
    SlotCache,
    StaticStep,
    bucket_of,
    columns_for,
    prefill_slot,
    unpadded,
)

log = logging.getLogger(__name__)


@dataclass
class Request:
    prompt: PromptBatch  # one row
    sampling: SamplingParams
    max_new_tokens: int
    generator: torch.Generator | None = None  # on the model's device
    swir: SwiRParams | None = None  # None: plain


class Ticket:
    """A submitted request: iterate it for its `Step`s (one row each); `cancel()` frees its row."""

    _END = object()

    def __init__(self, request: Request) -> None:
        self.request = request
        self.emitted = 0
        self._steps: queue.Queue[Any] = queue.Queue()
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def put(self, step: Step) -> None:
        self.emitted += 1
        self._steps.put(step)

    def end(self, error: BaseException | None = None) -> None:
        self._steps.put(error if error is not None else self._END)

    def __iter__(self) -> Iterator[Step]:
        while True:
            item = self._steps.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


class Rows(Protocol):
    def admit(self, ticket: Ticket) -> bool: ...  # False: no free row now
    def release(self, ticket: Ticket) -> None: ...
    def step(self) -> list[tuple[Ticket, Step]]: ...
    def running(self) -> list[Ticket]: ...


def _done(ticket: Ticket, step: Step) -> bool:
    return bool(step.finished[0]) or ticket.emitted >= ticket.request.max_new_tokens


class BatchEngine:
    """The engine thread: admit waiting requests, drop cancelled ones, step, hand out the steps."""

    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        self._inbox: queue.Queue[Ticket] = queue.Queue()
        self._waiting: list[Ticket] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, request: Request) -> Ticket:
        ticket = Ticket(request)
        self._inbox.put(ticket)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="local-engine")
                self._thread.start()
        return ticket

    def _run(self) -> None:
        while True:
            self._take(block=not self.rows.running() and not self._waiting)
            self._admit()
            for ticket in [t for t in self.rows.running() if t.cancelled]:
                self._finish(ticket)
            if self.rows.running():
                self._step()

    def _take(self, block: bool) -> None:
        try:
            self._waiting.append(self._inbox.get(block=block))
            while True:
                self._waiting.append(self._inbox.get_nowait())
        except queue.Empty:
            pass

    def _admit(self) -> None:
        while self._waiting:
            ticket = self._waiting[0]
            if ticket.cancelled:
                self._waiting.pop(0).end()
                continue
            try:
                if not self.rows.admit(ticket):
                    return
            except Exception as exc:  # a prompt the model refuses fails its own request only
                log.exception("could not admit a request")
                ticket.end(exc)
            self._waiting.pop(0)

    def _step(self) -> None:
        try:
            out = self.rows.step()
        except Exception as exc:
            log.exception("a decode step failed; ending its requests")
            for ticket in self.rows.running():
                self.rows.release(ticket)
                ticket.end(exc)
            return
        for ticket, step in out:
            ticket.put(step)
            if _done(ticket, step):
                self._finish(ticket)

    def _finish(self, ticket: Ticket) -> None:
        self.rows.release(ticket)
        ticket.end()


@dataclass
class EagerRows:
    """Any model: one `decode.generate` per request, interleaved one step at a time."""

    model: Any
    eos_ids: tuple[int, ...]
    swir_base: SwiRConfig | None = None
    capacity: int = 8
    gens: dict[Ticket, Iterator[Step]] = field(default_factory=dict)

    def admit(self, ticket: Ticket) -> bool:
        if len(self.gens) >= self.capacity:
            return False
        r = ticket.request
        controller, top_k = None, None
        if r.swir is not None:
            assert self.swir_base is not None, "SwiReasoning needs the engine's SwiRConfig"
            cfg = r.swir.config(self.swir_base, r.max_new_tokens)
            controller, top_k = SwiRController(cfg, 1, device=r.prompt.input_ids.device), r.swir.mixture_top_k
        self.gens[ticket] = generate(
            self.model, r.prompt, max_new_tokens=r.max_new_tokens, sampling=r.sampling, eos_ids=self.eos_ids,
            controller=controller, mixture_top_k=top_k, generator=r.generator,
        )  # fmt: skip
        return True

    def release(self, ticket: Ticket) -> None:
        gen = self.gens.pop(ticket, None)
        if gen is not None:
            gen.close()  # type: ignore[attr-defined]

    def running(self) -> list[Ticket]:
        return list(self.gens)

    def step(self) -> list[tuple[Ticket, Step]]:
        out = []
        for ticket, gen in list(self.gens.items()):
            step = next(gen, None)
            if step is None:  # max_new_tokens reached inside the loop
                self.release(ticket)
                ticket.end()
                continue
            out.append((ticket, step))
        return out


class StaticRows:
    """Plain-attention models: every running request is a slot of one static cache, and one
    captured step runs them all (slots [0, bucket), the lowest free slot taken first)."""

    def __init__(
        self, model, eos_ids: tuple[int, ...], swir_base: SwiRConfig | None, capacity: int, max_len: int,
        compile: bool = True, graph: GraphedStep | None = None,
    ) -> None:  # fmt: skip
        """`graph`: an existing captured step (and its cache) to share, e.g. with the GPU bench's static loop."""
        weight = model.get_input_embeddings().weight
        self.model, self.embedding, self.device = model, weight, weight.device
        self.graph = graph or GraphedStep(StaticStep(model, SlotCache(model, capacity, max_len)), compile=compile)
        self.kv = self.graph.step.kv
        capacity = self.kv.capacity
        self.eos = torch.tensor(eos_ids, dtype=torch.long, device=self.device)
        # the fused step on CUDA (no host sync, one pass over the logits), the eager one elsewhere
        self.controller = FusedSwiRController(swir_base, capacity, self.device) if swir_base is not None else None
        self.capacity = capacity
        self.feed = torch.zeros(capacity, weight.shape[1], dtype=weight.dtype, device=self.device)
        self.position = torch.zeros(capacity, dtype=torch.long, device=self.device)
        self.write = torch.full((capacity,), self.kv.scratch, dtype=torch.long, device=self.device)
        self.next = torch.zeros(capacity, dtype=torch.long, device=self.device)  # index of the next fed token
        self.slots: SlotTable[Ticket] = SlotTable(capacity)
        self.pending: dict[int, Tensor] = {}  # slot -> prefill logits [1, V], not sampled yet
        self.lengths: dict[int, int] = {}  # slot -> tokens it will hold after this step's write
        self._ahead: Tensor | None = None  # logits of the step launched at the end of the last one
        self._index_of: list[int] = []
        self._index_t = torch.zeros(0, dtype=torch.long, device=self.device)

    def running(self) -> list[Ticket]:
        return list(self.slots)

    def warm(self) -> None:
        """Compile and capture every (rows, width) step the loop can take, before the first visitor
        waits for it (CUDA; nothing to do on the CPU). Idle slots write only scratch columns."""
        if not self.graph.cuda:
            return
        width, widths = 256, []
        while width < self.kv.max_len:
            widths.append(width)
            width *= 2
        for w in [*widths, self.kv.max_len]:
            for b in sorted({bucket_of(n, self.capacity) for n in range(1, self.capacity + 1)}):
                self.graph(self.feed[:b, None], self.position[:b], self.write[:b], w)

    def admit(self, ticket: Ticket) -> bool:
        slot = self.slots.take(ticket)
        if slot is None:
            return False
        try:
            self._start(slot, ticket.request)
        except Exception:  # the prompt does not fit: the slot stays free
            self.slots.release(ticket)
            raise
        return True

    def _start(self, slot: int, r: Request) -> None:
        """Prefill the request into its slot and reset the slot's SwiReasoning state."""
        logits, length = prefill_slot(self.model, self.kv, slot, unpadded(r.prompt, 0).to(self.device))
        r.max_new_tokens = min(r.max_new_tokens, self.kv.scratch - length)
        if r.swir is not None:
            assert self.controller is not None, "SwiReasoning needs the engine's SwiRConfig"
            rows = torch.tensor([slot], device=self.device)
            self.controller.reset(rows, max_new_tokens=r.max_new_tokens, **r.swir.overrides())
        self.next[slot] = length
        self.lengths[slot] = length
        self.write[slot] = self.kv.scratch
        self.pending[slot] = logits

    def release(self, ticket: Ticket) -> None:
        slot = self.slots.release(ticket)
        if slot is not None:
            self.pending.pop(slot, None)
            self.lengths.pop(slot, None)
            self.write[slot] = self.kv.scratch
        if not self.slots:
            self._ahead = None

    @torch.inference_mode()
    def step(self) -> list[tuple[Ticket, Step]]:
        """Sample every running row from the step launched last time (or its prefill logits), then
        launch the next step; this step's tokens go to the host before it is queued, so the host
        hands them out, admits or drops requests and queues the next sampling while the GPU runs it
        (the extra work of rows dropped meanwhile is ignored)."""
        tickets = sorted(self.slots, key=self.slots.__getitem__)
        slots = [self.slots[t] for t in tickets]
        index = self._index(slots)
        logits = self._logits(slots, index)
        sampled = _sample_rows(logits, [t.request for t in tickets])
        self.position[index] = self.next[index]  # before the directives: their mixture may wait for the GPU
        self.write[index] = self.next[index]
        self.next[index] += 1
        host = HostCopy(self._decide(tickets, index, logits, sampled).stacked())
        for s in slots:
            self.lengths[s] += 1
        self._ahead = self._launch(slots)
        values, row = host.get(), torch.zeros(1, dtype=torch.long)
        return [(t, Step.unstacked(row, values[:, i : i + 1])) for i, t in enumerate(tickets)]

    def _index(self, slots: list[int]) -> Tensor:
        """The running slots on the device, made again only when they change: a host-to-device copy
        waits for the step in flight, which would leave the GPU idle while this step is prepared."""
        if self._index_of != slots:
            self._index_of, self._index_t = list(slots), torch.tensor(slots, device=self.device)
        return self._index_t

    def _logits(self, slots: list[int], index: Tensor) -> Tensor:
        """This step's logits per running row: the step launched last time, or a new row's prefill."""
        out = self._ahead
        if out is None and any(s not in self.pending for s in slots):
            out = self._launch(slots)
        if not any(s in self.pending for s in slots):
            assert out is not None
            return out.index_select(0, index)
        return torch.cat([self.pending.pop(s) if s in self.pending else out[s : s + 1] for s in slots])  # type: ignore[index]

    def _launch(self, slots: list[int]) -> Tensor:
        """The decode step of slots [0, max(slots)] (the captured step pads to its bucket)."""
        b = max(slots) + 1
        width = columns_for(max(self.lengths[s] for s in slots), self.kv.max_len)
        return self.graph(self.feed[:b, None], self.position[:b], self.write[:b], width)

    def _decide(self, tickets: list[Ticket], index: Tensor, logits: Tensor, sampled: Tensor) -> Step:
        """Every running row's Step; the next inputs written to `feed` (token rows: E[id];
        SwiReasoning rows: as `next_embeddings` says)."""
        swir = [i for i, t in enumerate(tickets) if t.request.swir is not None]
        every = len(swir) == len(tickets)
        if not every or self.controller is None:
            self.feed[index] = self.embedding[sampled]
        if not swir or self.controller is None:
            return Step.plain(index, sampled, self.eos)
        at: Any = slice(None) if every else torch.tensor(swir, device=self.device)
        d = self.controller.step(logits[at], sampled[at], rows=index[at])
        self._feed_mixtures([tickets[i].request for i in swir], index[at], d)
        if every:
            return Step.of(index, d)
        return Step.plain(index, sampled, self.eos).replaced(at, Step.of(index[at], d))

    def _feed_mixtures(self, requests: list[Request], slots: Tensor, d: Directive) -> None:
        """The SwiReasoning rows' next inputs, one mixture per mixture_top_k among them."""
        groups: dict[int | None, list[int]] = {}
        for j, r in enumerate(requests):
            assert r.swir is not None
            groups.setdefault(r.swir.mixture_top_k, []).append(j)
        for top_k, mine in groups.items():
            if len(mine) == len(requests):  # the usual case: one mixture for every SwiReasoning row
                self.feed[slots] = next_embeddings(d, self.embedding, top_k)
                continue
            sub = torch.tensor(mine, device=self.device)
            self.feed[slots[sub]] = next_embeddings(_directive_rows(d, sub), self.embedding, top_k)


def _sample_rows(logits: Tensor, requests: list[Request]) -> Tensor:
    """Each row's token with its own parameters and generator, as `decode.sample` on that row alone:
    rows sharing parameters are filtered together (row-wise arithmetic), then each draws from its own
    generator."""
    groups: dict[SamplingParams, list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault(r.sampling, []).append(i)
    if len(groups) == 1:  # the usual case; no index tensor (its host-to-device copy would wait)
        params = next(iter(groups))
        if params.temperature <= 0.0:
            return logits.argmax(-1)
        probs = filter_logits(logits, params).softmax(-1)
        return torch.cat([draw(probs[i : i + 1], r.generator) for i, r in enumerate(requests)])
    out = torch.empty(logits.shape[0], dtype=torch.long, device=logits.device)
    for params, rows in groups.items():
        at = torch.tensor(rows, device=logits.device)
        if params.temperature <= 0.0:
            out[at] = logits[at].argmax(-1)
            continue
        probs = filter_logits(logits[at], params).softmax(-1)
        out[at] = torch.cat([draw(probs[j : j + 1], requests[i].generator) for j, i in enumerate(rows)])
    return out


def _directive_rows(d: Directive, rows: Tensor) -> Directive:
    """The rows `rows` of a Directive."""
    from dataclasses import fields, replace

    picked: dict[str, Any] = {f.name: getattr(d, f.name) for f in fields(d)}
    selected: dict[str, Any] = {name: v if v is None else v[rows] for name, v in picked.items()}
    return replace(d, **selected)
