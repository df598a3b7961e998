"""The local engine end to end in one process: a job in, its events out (`LocalBackend.execute`).

With a scripted model behind the tiny model's tokenizer, every SwiReasoning event is reached by
construction and asserted exactly (switches, latent steps, the forced words, the budget finish). On the
tiny model itself, the events are checked against the decode loop's own steps for the same job, which
holds whatever tokens the model happens to produce on this CPU.
"""

from __future__ import annotations

import html
import time
from dataclasses import replace

import pytest
import torch

from demo.render import assistant_messages
from demo.session import Turn
from swireasoning.controller import SwiRController
from swireasoning.decode import SamplingParams, generate
from swireasoning.hf import TERMINATION_WORDS
from swireasoning.progress import TO
from tests.support.scripted_lm import ScriptedLM, peak
from worker.backends.base import JobContext
from worker.backends.local import LocalBackend, LocalEngine
from worker.queue.protocol import ChatMessage, JobSpec, Reasoning, Sampling

CTX = JobContext(worker="test", load_image=lambda ref: b"")


@pytest.fixture(scope="module")
def tiny(tiny_model) -> LocalEngine:
    return LocalEngine.load(str(tiny_model))


def job(mode: str, max_tokens: int, temperature: float = 0.0, **reasoning) -> JobSpec:
    """Greedy by default: a scripted step's token is its peak."""
    return JobSpec(model="tiny-random", messages=[ChatMessage(role="user", content="Think, then answer.")],
                   sampling=Sampling(max_tokens=max_tokens, seed=3, temperature=temperature),
                   reasoning=Reasoning(mode=mode, **reasoning))  # fmt: skip


def scripted_engine(tiny: LocalEngine, steps: list[tuple[int, float]]) -> LocalEngine:
    vocab = len(tiny.tokenizer)
    model = ScriptedLM(vocab, lambda row, t: peak(*steps[min(t, len(steps) - 1)], vocab), eos_id=tiny.eos_ids[0])
    return LocalEngine(model, tiny.tokenizer, None)


def word(tiny: LocalEngine) -> int:
    """An ordinary one-token word (not a math token, so latent steps feed a mixture)."""
    ids = tiny.tokenizer.encode(" Janeiro", add_special_tokens=False)
    assert len(ids) == 1 and ids[0] not in tiny.swir_base.math_ids
    return ids[0]


def test_a_swireasoning_job_streams_each_switch_latent_step_and_the_budget_finish(tiny):
    w, end = word(tiny), tiny.end_think_id
    # C = 1, dwell 1: explicit at 1 (forces </think> at 2, ending the thinking), latent at 2, explicit at 3
    # (forces </think> at 4), latent at 4, explicit at 5: the third switch forces the termination words and
    # arms the answer budget of 32, so the job ends 31 steps later
    steps = [(w, 1.0), (w, 2.0), (w, 0.5), (w, 3.0), (w, 0.4), (w, 4.0)]
    engine = scripted_engine(tiny, steps)
    spec = job("swireasoning", 64, window=1, max_switch_count=1)
    events = list(LocalBackend(engine, 4096).execute(spec, CTX))
    switches = [(e.to, e.step, e.count) for e in events if e.type == "switch"]
    assert switches == [("explicit", 1, 1), ("latent", 2, 1), ("explicit", 3, 2), ("latent", 4, 2), ("explicit", 5, 3)]
    thinking = [(e.delta, e.latent) for e in events if e.type == "reasoning"]
    decode = tiny.tokenizer.decode
    assert thinking == [(decode([w]), True), (decode([w]), False)]  # step 2's forced </think> ends the thinking
    term = tiny.swir_base.termination_ids
    answer_ids = [w, end, w, *term] + [w] * (36 - 5 - len(term))  # steps 3..36
    answer = "".join(e.delta for e in events if e.type == "answer")
    assert answer == decode(answer_ids, skip_special_tokens=True).lstrip("\n")
    assert TERMINATION_WORDS.split("</think>")[1].strip() in answer
    stats, done = events[-2], events[-1]
    assert (stats.completion_tokens, stats.reasoning_tokens, stats.latent_steps, stats.switches) == (37, 3, 2, 3)
    assert done.finish_reason == "budget"

    turn = Turn(user_text="Think, then answer.", job_id=spec.id)  # what the page makes of these events
    for event in events:
        turn.apply(event)
    shown_thinking, shown_answer = assistant_messages(turn, "en")
    assert shown_thinking["metadata"]["title"] == "Thinking · 3 switches"
    text = html.escape(decode([w]))
    assert shown_thinking["content"]["text"] == f'<span class="swir-latent" title="latent step">{text}</span>{text}'
    assert "thinking 1 explicit + 2 latent · 3 switches" in shown_answer["content"]["text"]


def test_closing_a_job_mid_stream_ends_it_and_the_engine_takes_the_next(tiny):
    engine = scripted_engine(tiny, [(word(tiny), 3.0)])
    backend = LocalBackend(engine, 4096)
    first = backend.execute(job("off", 4000), CTX)
    seen = [next(first) for _ in range(4)]  # started, then answer text
    first.close()  # what the task does on Stop
    assert seen[0].type == "started" and seen[-1].type == "answer"
    assert next(first, None) is None, "the closed job yields nothing more"
    deadline = time.monotonic() + 1.0  # its row is freed within the step in flight, not after 4000 tokens
    while backend.loop.rows.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert backend.loop.rows.running() == [], "the first job ended: no row runs on for it"
    events = list(backend.execute(job("off", 8), CTX))
    assert (events[-2].completion_tokens, events[-1].finish_reason) == (8, "length")


@pytest.mark.parametrize(("eos_at", "finish", "tokens"), [(5, "stop", 6), (None, "length", 12)])
def test_a_plain_thinking_job_ends_on_eos_or_at_the_token_limit(tiny, eos_at, finish, tokens):
    w, end, eos = word(tiny), tiny.end_think_id, tiny.eos_ids[0]
    steps = [(w, 3.0), (w, 3.0), (end, 3.0), (w, 3.0), (w, 3.0), (eos if eos_at else w, 9.0)]
    events = list(LocalBackend(scripted_engine(tiny, steps), 4096).execute(job("thinking", 12), CTX))
    assert not any(e.type == "switch" for e in events)
    assert [e.latent for e in events if e.type == "reasoning"] == [False, False]
    stats, done = events[-2], events[-1]
    assert (stats.completion_tokens, stats.reasoning_tokens, stats.latent_steps) == (tokens, 3, 0)
    assert done.finish_reason == finish


def test_the_tiny_models_events_match_its_decode_steps(tiny):
    """Whatever tokens the tiny model produces here, the events report exactly the loop's steps."""
    spec = job("swireasoning", 48, temperature=0.6, window=4, max_switch_count=1)
    events = list(LocalBackend(tiny, 4096).execute(spec, CTX))
    batch = tiny.encode([tiny.render(spec.messages, enable_thinking=True)], [[]])
    c = replace(tiny.swir_base, window=4, max_switch_count=1, max_new_tokens=48)
    sampling = SamplingParams(spec.sampling.temperature, spec.sampling.top_p, spec.sampling.top_k)
    steps = list(generate(tiny.model, batch, max_new_tokens=48, sampling=sampling, eos_ids=tiny.eos_ids,
                          controller=SwiRController(c, 1), generator=torch.Generator().manual_seed(3)))  # fmt: skip
    ids = [int(st.ids[0]) for st in steps]
    switches = [(TO[int(st.switched_to[0])], i, int(st.switch_count[0])) for i, st in enumerate(steps)
                if int(st.switched_to[0])]  # fmt: skip
    assert [(e.to, e.step, e.count) for e in events if e.type == "switch"] == switches
    end = ids.index(tiny.end_think_id) if tiny.end_think_id in ids else len(ids)
    text = {kind: "".join(e.delta for e in events if e.type == kind) for kind in ("reasoning", "answer")}
    assert text["reasoning"] == tiny.tokenizer.decode(ids[:end], skip_special_tokens=True)
    assert text["answer"] == tiny.tokenizer.decode(ids[end + 1 :], skip_special_tokens=True).lstrip("\n")
    stats, done = events[-2], events[-1]
    thinking_steps = steps[: end + 1]
    assert stats.completion_tokens == len(steps) and stats.reasoning_tokens == len(thinking_steps)
    assert stats.latent_steps == sum(bool(st.latent[0]) for st in thinking_steps)
    assert stats.switches == (switches[-1][2] if switches else 0)
    expected = "budget" if bool(steps[-1].budget_hit[0]) else "stop" if bool(steps[-1].finished[0]) else "length"
    assert done.finish_reason == expected
