"""SwiReasoning inside SGLang 0.5.23, as a general plugin (entry point `rio_swireasoning` in group
`sglang.srt.plugins`; enable with `SGLANG_PLUGINS=rio_swireasoning`). The only module that imports
sglang. Requests whose `custom_params` carry `swireasoning` get SwiReasoning; all others follow
SGLang's normal path (every hook returns to the original at once for them).

Hooks (`HOOKS`; tests resolve each target and its parameters in the installed sglang package):
- AFTER  Scheduler.__init__: refuse to start under the overlap scheduler (step N+1 would be launched
  before step N's mixture exists); CUDA graphs stay on (see can_run_graph).
- AFTER  Scheduler._create_generation_req: a SwiReasoning request gets a controller slot.
- AROUND ModelRunner.sample: clone the raw logits (the sampler rewrites them in place), sample, step
  the controller (the fused Triton step on CUDA, no host sync) on the raw logits and the sampled
  ids, write forced ids (EOS when the answer budget ends), and compute every SwiReasoning row's
  next input at once: its mixture (exact or its own top-k) on this rank's vocabulary shard with the
  anchor embedding folded in, then ONE all-reduce; stored per slot with a flag (latent or not) that
  never leaves the GPU. The per-token entries leave in one small copy read after SGLang's own sync.
- AROUND Qwen3_5ForCausalLM.forward and Qwen3ForCausalLM.forward (Rio 3.0 Open Mini, dense): at
  decode, the input embeddings are where(row flag, row mixture, E[input id]) from the plugin's static
  row buffers. Decode graphs are captured through this hook, so they read those buffers too.
- AROUND DecodeCudaGraphRunner.capture: allocate the row buffers (max batch x hidden) before capture.
- AROUND DecodeCudaGraphRunner.can_run_graph: SGLang decides as ever (latent rows no longer send the
  batch eager); before a replay the batch's rows are written into the row buffers.
- AROUND release_kv_cache: a request that was fed a mixture inserts nothing past its prompt (already
  checkpointed after prefill), so no later request can reuse latent KV or a Mamba state computed
  from it. Its slot is freed.
A failure inside a scheduler or forward hook is contained to the SwiReasoning requests it concerns
(`fail_requests`): each ends with an error naming the plugin, its plugin state is released, it
inserts nothing past its prompt into the radix tree, and every other request runs on.
In the HTTP (tokenizer-manager) process, for the per-token `[latent, switched_to, count]` entries the
sample hook ships through SGLang's `customized_info` channel (swireasoning/progress.py):
- AROUND TokenizerManager.update_request_meta_info: other requests of a mixed batch get no entries
  (their meta info stays as SGLang makes it); a streaming SwiReasoning request's fold sees each update.
- AROUND OpenAIServingChat._generate_chat_stream: a SwiReasoning stream gets `{"swireasoning": ...}`
  chunks (SwiRProgress) before text whose tokens switched mode, and the totals before `[DONE]`.
- AFTER OpenAIServingChat._build_chat_response: a non-streaming response's `metadata.swireasoning`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import torch

from swireasoning.controller import SwiRParams
from swireasoning.engine_table import RowOutcome, StepInfo, SwiRTable, info_of, to_device
from swireasoning.fused import runs_fused
from swireasoning.fused_graph import SlotWrites, StepGraphs
from swireasoning.hf import swir_config
from swireasoning.mixture import blended_shard
from swireasoning.progress import STEP_KEY
from swireasoning.sglang_http import (
    PARAMS_KEY,
    after_chat_response,
    around_chat_stream,
    around_meta_info,
    wants_swireasoning,
)

log = logging.getLogger(__name__)
# (target, hook type, leading parameter names the hook relies on)
HOOKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("sglang.srt.managers.scheduler.Scheduler.__init__", "after", ("self",)),
    ("sglang.srt.managers.scheduler.Scheduler._create_generation_req", "after", ("self", "recv_req")),
    ("sglang.srt.model_executor.model_runner.ModelRunner.sample", "around", ("self", "logits_output", "forward_batch")),
    ("sglang.srt.models.qwen3_5.Qwen3_5ForCausalLM.forward", "around",
     ("self", "input_ids", "positions", "forward_batch", "input_embeds")),
    ("sglang.srt.models.qwen3.Qwen3ForCausalLM.forward", "around",
     ("self", "input_ids", "positions", "forward_batch", "input_embeds")),
    ("sglang.srt.model_executor.runner.decode_cuda_graph_runner.DecodeCudaGraphRunner.capture", "around",
     ("self",)),
    ("sglang.srt.model_executor.runner.decode_cuda_graph_runner.DecodeCudaGraphRunner.can_run_graph", "around",
     ("self", "forward_batch")),
    ("sglang.srt.mem_cache.common.release_kv_cache", "around", ("req", "tree_cache")),
    ("sglang.srt.managers.tokenizer_manager.TokenizerManager.update_request_meta_info", "around",
     ("self", "meta_info", "state", "customized_info", "index")),
    ("sglang.srt.entrypoints.openai.serving_chat.OpenAIServingChat._generate_chat_stream", "around",
     ("self", "adapted_request", "request", "raw_request")),
    ("sglang.srt.entrypoints.openai.serving_chat.OpenAIServingChat._build_chat_response", "after",
     ("self", "request", "ret", "created")),
)  # fmt: skip


class SlotInputs:
    """Per controller slot: the next input if it is a mixture ([capacity + 2, d]: the table's slots,
    its scratch slot, then `none` for rows without SwiReasoning, never flagged) and whether it is one."""

    def __init__(self, capacity: int, hidden: int, dtype: torch.dtype, device: torch.device) -> None:
        self.none = capacity + 1
        self.embeds = torch.zeros(capacity + 2, hidden, dtype=dtype, device=device)
        self.flag = torch.zeros(capacity + 2, dtype=torch.bool, device=device)


class RowInputs:
    """Per decode-batch row: the buffers the language model's forward reads (and decode graphs
    capture), written before each replay or eager decode."""

    def __init__(self, rows: int, hidden: int, dtype: torch.dtype, device: torch.device) -> None:
        self.embeds = torch.zeros(rows, hidden, dtype=dtype, device=device)
        self.flag = torch.zeros(rows, dtype=torch.bool, device=device)
        self.dirty = False  # a flag may be set: clear before a batch without SwiReasoning rows


class Runtime:
    """This scheduler process's SwiReasoning state: the slot table and the pending mixtures.
    One per process (SGLang spawns each scheduler fresh and calls `register` in it)."""

    def __init__(self) -> None:
        self.table: SwiRTable | None = None
        self.slot_inputs: SlotInputs | None = None
        self.graphs: StepGraphs | None = None
        self.row_inputs: RowInputs | None = None
        self.mixture_top_k: dict[str, int | None] = {}
        self.scheduler: Any = None  # this process's Scheduler: where a failed request is ended
        self.failed: set[str] = set()  # rids the plugin failed: ending with an error, no radix insert


RUNTIME = Runtime()


def on_scheduler_init(result: Any, scheduler: Any, *args: Any, **kwargs: Any) -> None:
    if getattr(scheduler, "enable_overlap", False):
        raise RuntimeError(
            "rio_swireasoning: the overlap scheduler launches decode step N+1 before step N's latent "
            "mixture exists. Start SGLang with --disable-overlap-schedule (see sglang_config/README.md)."
        )
    RUNTIME.scheduler = scheduler


def on_new_request(req: Any, scheduler: Any, *args: Any, **kwargs: Any) -> None:
    custom: dict[str, Any] = getattr(req.sampling_params, "custom_params", None) or {}
    if not wants_swireasoning(custom):
        return
    try:
        admit(req, custom[PARAMS_KEY], scheduler)
    except Exception as exc:  # this request ends with the error; the scheduler serves on
        forget(req.rid)
        log.exception("rio_swireasoning: admitting %s failed", req.rid)
        req.set_finish_with_abort(failure_message("admission", exc), HTTPStatus.INTERNAL_SERVER_ERROR,
                                  "InternalServerError")  # fmt: skip


def admit(req: Any, raw: dict[str, Any], scheduler: Any) -> None:
    params = SwiRParams.of(raw)
    if RUNTIME.table is None:
        tok = scheduler.tokenizer
        cfg = swir_config(tok, (int(tok.eos_token_id),))
        RUNTIME.table = SwiRTable(cfg, device=scheduler_device(scheduler))
    max_new = req.sampling_params.max_new_tokens or RUNTIME.table.cfg.max_new_tokens
    RUNTIME.table.admit(req.rid, params, max_new_tokens=int(max_new), prompt_len=len(req.origin_input_ids))
    RUNTIME.mixture_top_k[req.rid] = params.mixture_top_k


def scheduler_device(scheduler: Any) -> torch.device:
    """The device the scheduler's model runs on (a CUDA rank's own GPU, or the CPU)."""
    return scheduler.tp_worker.model_runner.model.get_input_embeddings().weight.device


def failure_message(where: str, exc: BaseException) -> str:
    return (f"rio_swireasoning failed on this request ({where}: {type(exc).__name__}: {exc}). "
            "The server keeps serving; retrying may help.")  # fmt: skip


def forget(rid: str) -> None:
    """Release the plugin's state for one request (its table slot, its pending mixture)."""
    table = RUNTIME.table
    if table is not None:
        slot = table.slots.get(rid)
        if slot is not None and RUNTIME.slot_inputs is not None:
            RUNTIME.slot_inputs.flag[slot] = False
        table.release(rid)
    RUNTIME.mixture_top_k.pop(rid, None)


def fail_requests(rids: Iterable[str], exc: BaseException, where: str) -> None:
    """Contain a hook's failure to the SwiReasoning requests it concerns: each ends after this step
    with an error naming the plugin (SGLang's own abort path frees its KV), its state is released,
    and it inserts nothing past its prompt; every other request runs on."""
    from sglang.srt.managers.schedule_batch import FINISH_ABORT

    table = RUNTIME.table
    doomed = {r for r in rids if table is not None and r in table.slots}
    log.error("rio_swireasoning: %s failed for %s", where, sorted(doomed), exc_info=exc)
    message = failure_message(where, exc)
    for req in inflight_reqs(RUNTIME.scheduler):
        if req.rid in doomed and not req.finished():
            req.to_finish = FINISH_ABORT(message, HTTPStatus.INTERNAL_SERVER_ERROR, "InternalServerError")
    for rid in doomed:
        forget(rid)
        RUNTIME.failed.add(rid)


def inflight_reqs(scheduler: Any) -> list[Any]:
    names = ("cur_batch_for_debug", "running_batch", "last_batch")
    batches = [getattr(scheduler, n, None) for n in names] if scheduler is not None else []
    return [req for batch in batches if batch is not None for req in batch.reqs]


class SampleOnce:
    """SGLang's sampler, run at most once a step (it rewrites the logits in place): after a failure
    past it, the step keeps the ids it sampled."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self.ids: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.ids is None:
            self.ids = self.original(*args, **kwargs)
        return self.ids


def around_sample(original: Any, runner: Any, logits_output: Any, forward_batch: Any, *a: Any, **kw: Any) -> Any:
    table = RUNTIME.table
    rids = list(getattr(forward_batch, "rids", None) or [])
    if table is None or not any(r in table.slots for r in rids):
        return original(runner, logits_output, forward_batch, *a, **kw)
    sample = SampleOnce(original)
    try:
        return swir_sample(table, sample, runner, logits_output, forward_batch, rids, *a, **kw)
    except Exception as exc:
        fail_requests(rids, exc, "the sample step")
        return sample(runner, logits_output, forward_batch, *a, **kw)


def swir_sample(table: SwiRTable, original: Any, runner: Any, logits_output: Any, forward_batch: Any,
                rids: list[str], *a: Any, **kw: Any) -> Any:  # fmt: skip
    graphs = step_graphs(runner.model.get_input_embeddings(), table, logits_output.next_token_logits)
    if graphs is not None:
        return graphed_sample(graphs, original, runner, logits_output, forward_batch, rids, *a, **kw)
    return eager_sample(table, original, runner, logits_output, forward_batch, rids, *a, **kw)


def eager_sample(table: SwiRTable, original: Any, runner: Any, logits_output: Any, forward_batch: Any,
                 rids: list[str], *a: Any, **kw: Any) -> Any:  # fmt: skip
    """The sample hook's work in eager launches: the reference of the captured path."""
    raw = logits_output.next_token_logits.clone()  # [B, V] float32, before penalties and temperature
    next_ids = original(runner, logits_output, forward_batch, *a, **kw)
    outcome = table.step(rids, raw, next_ids, extended_to(forward_batch))
    if outcome is not None:
        if outcome.index is None:
            next_ids.copy_(outcome.ids.to(next_ids.dtype))
        else:
            next_ids[outcome.index] = outcome.ids.to(next_ids.dtype)
        stash_mixtures(runner.model.get_input_embeddings(), outcome)
        info = logits_output.customized_info or {}
        logits_output.customized_info = {**info, STEP_KEY: outcome.step_info(len(rids))}
    return next_ids


def step_graphs(embed: Any, table: SwiRTable, logits: torch.Tensor) -> StepGraphs | None:
    """The captured steps (made at the first SwiReasoning step), or None where the step runs eagerly:
    not CUDA (or Triton's interpreter, where the same steps run uncaptured), logits not float32, or
    RIO_SWIR_STEP_GRAPHS=0."""
    if os.environ.get("RIO_SWIR_STEP_GRAPHS", "1") == "0" or logits.dtype != torch.float32:
        return None
    if not runs_fused(logits, False):
        return None
    if RUNTIME.graphs is None:
        start = embed.shard_indices.org_vocab_start_index
        shard = embed.weight[: embed.shard_indices.org_vocab_end_index - start]
        slots = slot_inputs(table, shard)
        writes = SlotWrites(slots.embeds, slots.flag) if getattr(embed, "tp_size", 1) == 1 else None
        RUNTIME.graphs = StepGraphs(table, shard, start, logits.shape[1], writes=writes)
    return RUNTIME.graphs


def graphed_sample(graphs: StepGraphs, original: Any, runner: Any, logits_output: Any, forward_batch: Any,
                   rids: list[str], *a: Any, **kw: Any) -> Any:  # fmt: skip
    """around_sample's work as one graph replay: the raw logits go straight into the graph's input
    (instead of a clone), the rest is the eager path's, captured (see swireasoning/fused_graph.py)."""
    table = graphs.table
    positions = table.positions(rids, extended_to(forward_batch))
    mine = [rids[i] for i in positions]
    ks = [RUNTIME.mixture_top_k.get(rid) or 0 for rid in mine]
    if not positions or not graphs.fits(len(mine), max(ks), min(ks) == 0):  # a shape past the captured ones
        return eager_sample(table, original, runner, logits_output, forward_batch, rids, *a, **kw)
    logits, rows = logits_output.next_token_logits, graphs.logits[: len(mine)]
    index = None if len(positions) == len(rids) else to_device(positions, logits.device)
    rows.copy_(logits) if index is None else torch.index_select(logits, 0, index, out=rows)
    next_ids = original(runner, logits_output, forward_batch, *a, **kw)
    sampled = next_ids if index is None else next_ids[index]
    step = graphs.run(sampled, [table.slots[r] for r in mine], ks, min(ks) == 0)
    assert step.ids is not None and step.directive is not None and step.mixed is not None
    if index is None:
        next_ids.copy_(step.ids.to(next_ids.dtype))
    else:
        next_ids[index] = step.ids.to(next_ids.dtype)
    if graphs.writes is None:  # several ranks: the all-reduce and the slot writes stay outside
        write_slots(embed_of(runner), step.mixed, step.slots, step.directive.feed_mixture)
    info = logits_output.customized_info or {}
    logits_output.customized_info = {**info, STEP_KEY: StepInfo(info_of(step.directive), positions, len(rids))}
    return next_ids


def embed_of(runner: Any) -> Any:
    return runner.model.get_input_embeddings()


def extended_to(forward_batch: Any) -> list[int] | None:
    """For prefill batches: prompt tokens run so far per row (cached prefix + this chunk)."""
    if not forward_batch.forward_mode.is_extend():
        return None
    prefix, seq = forward_batch.extend_prefix_lens_cpu, forward_batch.extend_seq_lens_cpu
    return [p + s for p, s in zip(prefix, seq, strict=True)] if prefix and seq else None


def stash_mixtures(embed: Any, outcome: RowOutcome) -> None:
    """Every SwiReasoning row's next input at once: its blended mixture on this rank's vocabulary
    shard, one all-reduce for all rows, stored at its slot with the row's latent flag. Rows that
    feed a token keep their flag off; the host never learns which rows are latent."""
    table, d = RUNTIME.table, outcome.directive
    assert table is not None and outcome.slots is not None
    start = embed.shard_indices.org_vocab_start_index
    shard = embed.weight[: embed.shard_indices.org_vocab_end_index - start]
    ks_host = [RUNTIME.mixture_top_k.get(rid) or 0 for rid in outcome.rids]
    k_max = max(ks_host)
    ks = to_device(ks_host, shard.device) if k_max else None
    mixed = blended_shard(d, shard, start, ks, k_max, any_exact=min(ks_host) == 0)
    slot_inputs(table, shard)
    write_slots(embed, mixed, outcome.slots, d.feed_mixture)


def slot_inputs(table: SwiRTable, shard: torch.Tensor) -> SlotInputs:
    if RUNTIME.slot_inputs is None:
        RUNTIME.slot_inputs = SlotInputs(table.capacity, shard.shape[1], shard.dtype, shard.device)
    return RUNTIME.slot_inputs


def write_slots(embed: Any, mixed: torch.Tensor, slots: torch.Tensor, flag: torch.Tensor) -> None:
    """The rows' next inputs (summed over ranks first) at their slots."""
    from sglang.srt.distributed.communication_op import tensor_model_parallel_all_reduce

    if getattr(embed, "tp_size", 1) > 1:
        mixed = tensor_model_parallel_all_reduce(mixed)
    inputs = RUNTIME.slot_inputs
    assert inputs is not None
    inputs.embeds[slots] = mixed.to(inputs.embeds.dtype)
    inputs.flag[slots] = flag


def load_rows(forward_batch: Any, rows: int, hidden: int, dtype: torch.dtype, device: torch.device) -> RowInputs:
    """Write the batch's pending mixtures into the row buffers (allocated here when no decode graph
    did it), with every other row's flag off. Buffers a graph captured are never replaced: a batch
    larger than them (run eagerly) gets buffers of its own."""
    inputs = RUNTIME.row_inputs
    if inputs is None:
        inputs = RUNTIME.row_inputs = RowInputs(rows, hidden, dtype, device)
    elif inputs.embeds.shape[0] < rows:
        inputs = RowInputs(rows, hidden, dtype, device)
    table, slots = RUNTIME.table, RUNTIME.slot_inputs
    rids = list(getattr(forward_batch, "rids", None) or [])
    if table is None or slots is None or not any(r in table.slots for r in rids):
        if inputs.dirty:
            inputs.flag.zero_()
            inputs.dirty = False
        return inputs
    index = to_device([table.slots.get(r, slots.none) for r in rids], device)
    inputs.flag.zero_()
    inputs.flag[: len(rids)] = slots.flag[index]
    inputs.embeds[: len(rids)] = slots.embeds[index].to(inputs.embeds.dtype)
    inputs.dirty = True
    return inputs


def around_forward(original: Any, model: Any, input_ids: Any, positions: Any, forward_batch: Any,
                   input_embeds: Any = None, *a: Any, **kw: Any) -> Any:  # fmt: skip
    if not forward_batch.forward_mode.is_decode() or (RUNTIME.table is None and RUNTIME.row_inputs is None):
        return original(model, input_ids, positions, forward_batch, input_embeds, *a, **kw)
    try:
        embeds = row_embeds(model, input_ids, forward_batch, input_embeds)
    except Exception as exc:  # the batch decodes on its tokens; the SwiReasoning rows end with the error
        fail_requests(list(getattr(forward_batch, "rids", None) or []), exc, "the input embeddings")
        embeds = None
    return original(model, input_ids, positions, forward_batch, input_embeds if embeds is None else embeds,
                    *a, **kw)  # fmt: skip


def row_embeds(model: Any, input_ids: Any, forward_batch: Any, input_embeds: Any) -> Any:
    """The decode batch's input embeddings with the rows' pending mixtures in, or None where the
    forward runs as SGLang's (a capture that is not the decode runner's)."""
    embeds = model.get_input_embeddings()(input_ids) if input_embeds is None else input_embeds
    n = embeds.shape[0]
    if torch.cuda.is_available() and torch.cuda.is_current_stream_capturing():
        inputs = RUNTIME.row_inputs  # a decode graph: read the buffers the replays will fill
        if inputs is None or inputs.embeds.shape[0] < n:  # not the decode runner's capture
            return None
    else:
        inputs = load_rows(forward_batch, n, embeds.shape[1], embeds.dtype, embeds.device)
    return torch.where(inputs.flag[:n, None], inputs.embeds[:n], embeds)


def around_capture(original: Any, runner: Any, *a: Any, **kw: Any) -> Any:
    """Decode graphs read the row buffers: allocate them (fixed addresses) before any capture."""
    embed = runner.model_runner.model.get_input_embeddings()
    if RUNTIME.row_inputs is None:
        rows = int(runner.buffers.input_ids.shape[0])  # the runner's largest token count
        RUNTIME.row_inputs = RowInputs(rows, embed.weight.shape[1], embed.weight.dtype, embed.weight.device)
    return original(runner, *a, **kw)


def around_can_run_graph(original: Any, runner: Any, forward_batch: Any, *a: Any, **kw: Any) -> Any:
    ok = original(runner, forward_batch, *a, **kw)
    inputs = RUNTIME.row_inputs
    if ok and inputs is not None and forward_batch.forward_mode.is_decode():
        try:
            load_rows(forward_batch, inputs.embeds.shape[0], inputs.embeds.shape[1], inputs.embeds.dtype,
                      inputs.embeds.device)  # fmt: skip
        except Exception as exc:  # the replay reads no mixture; the SwiReasoning rows end with the error
            inputs.flag.zero_()
            fail_requests(list(getattr(forward_batch, "rids", None) or []), exc, "the decode graph's inputs")
    return ok


def around_release(original: Any, req: Any, tree_cache: Any, *a: Any, **kw: Any) -> Any:
    if req.rid in RUNTIME.failed or latent_so_far(req.rid):
        req.skip_radix_cache_insert = True  # keep the prompt prefix (checkpointed at prefill), nothing after
    try:
        return original(req, tree_cache, *a, **kw)
    finally:
        forget(req.rid)
        RUNTIME.failed.discard(req.rid)


def latent_so_far(rid: str) -> bool:
    """Whether a request was ever fed a mixture; a failed read counts as yes (nothing is inserted)."""
    table = RUNTIME.table
    try:
        return table is not None and table.was_latent(rid)
    except Exception:
        log.exception("rio_swireasoning: reading %s's latent flag failed", rid)
        return True


FUNCTIONS = (
    on_scheduler_init, on_new_request, around_sample, around_forward, around_forward, around_capture,
    around_can_run_graph, around_release,
    around_meta_info, around_chat_stream, after_chat_response,
)  # fmt: skip


def register() -> None:
    """The entry point: SGLang calls it in every process, then applies the hooks."""
    from sglang.srt.plugins.hook_registry import HookRegistry, HookType

    for (target, kind, _), fn in zip(HOOKS, FUNCTIONS, strict=True):
        HookRegistry.register(target, fn, HookType(kind))
    log.info("rio_swireasoning: %d hooks registered", len(HOOKS))
