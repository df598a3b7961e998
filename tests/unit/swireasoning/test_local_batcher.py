"""The local engine's fast and batched decoding against the eager single-job loop (`decode.generate`).

A tiny random Qwen3 (plain attention: the static-cache path) and the tiny-random qwen3_5_moe
(hybrid attention: the interleaved eager path). Every comparison is two paths on the same machine.
"""

from __future__ import annotations

import pytest
import torch

from swireasoning.batcher import BatchEngine, EagerRows, Request, StaticRows, Ticket
from swireasoning.controller import SwiRConfig, SwiRController, SwiRParams
from swireasoning.decode import PromptBatch, SamplingParams, Step, generate
from swireasoning.static_decode import static_unsupported

VOCAB = 256
SAMPLED = SamplingParams(temperature=0.8, top_p=0.9, top_k=40)
GREEDY = SamplingParams(temperature=0.0)
# SwiReasoning on arbitrary ids of the random model; window 2 and one switch allowed, so rows switch
# and get forced words whenever the entropy says so (the tests assert equality, not that they do)
SWIR = SwiRConfig(think_id=1, end_think_id=2, linebreak_id=3, eos_ids=(4,), math_ids=(5, 6, 7),
                  convergence_ids=(2,), termination_ids=(2, 9, 9), window=2, max_switch_count=1)  # fmt: skip


def tiny_qwen3(device: str = "cpu"):
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(17)
    config = Qwen3Config(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, max_position_embeddings=512, tie_word_embeddings=True,
        initializer_range=0.5,  # varied tokens, not one repeated: sharp random logits
    )  # fmt: skip
    # float64: batched and single-row kernels sum in other orders; in float64 those differences vanish
    # when the logits are rounded to the float32 the loops sample from, so the paths agree on any CPU
    return Qwen3ForCausalLM(config).eval().to(device=device, dtype=torch.float64)


@pytest.fixture(scope="module")
def qwen3():
    return tiny_qwen3()


def prompt(ids: list[int], device: str = "cpu") -> PromptBatch:
    t = torch.tensor([ids], device=device)
    mask = torch.ones_like(t)
    position = mask.cumsum(-1) - 1
    return PromptBatch(t, mask, position, position[:, -1] + 1)


def alone(model, request: Request, seed: int, eos: tuple[int, ...] = (4,), base: SwiRConfig = SWIR) -> list[int]:
    """The eager single-job loop: what a request must produce through any engine."""
    return [int(s.ids[0]) for s in alone_steps(model, request, torch.Generator().manual_seed(seed), eos, base)]


def alone_steps(model, request: Request, generator, eos: tuple[int, ...] = (4,), base: SwiRConfig = SWIR):
    controller, top_k, swir = None, None, request.swir
    if swir is not None:
        controller, top_k = SwiRController(swir.config(base, request.max_new_tokens), 1), swir.mixture_top_k
    return generate(model, request.prompt, max_new_tokens=request.max_new_tokens, sampling=request.sampling,
                    eos_ids=eos, controller=controller, mixture_top_k=top_k, generator=generator)  # fmt: skip


def request(i: int, swir: bool, greedy: bool, max_new: int = 24) -> tuple[Request, int]:
    ids = [(7 * i + 3 * k) % (VOCAB - 20) + 10 for k in range(5 + 2 * i)]  # prompts of different lengths
    sampling = GREEDY if greedy else SAMPLED
    swir_params = SwiRParams(window=2 + i % 2, mixture_top_k=8 if i % 3 == 0 else None) if swir else None
    seed = 100 + i
    return Request(prompt(ids), sampling, max_new, torch.Generator().manual_seed(seed), swir_params), seed


def tokens(ticket: Ticket) -> list[int]:
    return [int(s.ids[0]) for s in ticket]


def test_tiny_qwen3_takes_the_static_path_and_the_hybrid_model_does_not(qwen3, tiny_model):
    from transformers import AutoConfig

    assert static_unsupported(qwen3) is None
    hybrid = AutoConfig.from_pretrained(tiny_model)
    assert static_unsupported(type("M", (), {"config": hybrid})()) is not None


def padded_pair(first: list[int], device: str = "cpu") -> PromptBatch:
    """`first` (left-padded with 0s, or not) and a second prompt of six tokens, as one batch."""
    ids = torch.tensor([first, [31, 32, 33, 34, 35, 36]], device=device)
    mask = (ids != 0).long()
    position = (mask.cumsum(-1) - 1).clamp(min=0)
    return PromptBatch(ids, mask, position, position[:, -1] + 1)


def row_values(steps: list[Step], rows: int) -> list[list[tuple[int, bool, bool]]]:
    """Per original row, (id, latent, finished) of each of its steps."""
    out: list[list[tuple[int, bool, bool]]] = [[] for _ in range(rows)]
    for s in steps:
        for j, r in enumerate(s.rows.tolist()):
            out[r].append((int(s.ids[j]), bool(s.latent[j]), bool(s.finished[j])))
    return out


def engine_and_eager(model, batch: PromptBatch, sampling: SamplingParams, swir: SwiRParams | None, compile=True):
    """The rows of `batch` as requests started together on the engine's static rows, and the eager
    loop: greedy, on the batch itself (left padding included); sampled, each row alone with its
    request's generator (a batch shares one generator, requests do not)."""
    device, max_new = batch.input_ids.device, 20
    rows = [batch.input_ids[i][batch.attention_mask[i].bool()].tolist() for i in range(2)]
    made = [Request(prompt(r, device), sampling, max_new, None, swir) for r in rows]
    engine = BatchEngine(StaticRows(model, (4,), SWIR, capacity=2, max_len=64, compile=compile))
    for i, r in enumerate(made):
        r.generator = torch.Generator(device=device).manual_seed(5 + i)
    got = [row_values(list(t), 1)[0] for t in [engine.submit(r) for r in made]]
    if sampling.temperature > 0:
        seeds = [torch.Generator(device=device).manual_seed(5 + i) for i in range(2)]
        return got, [row_values(list(alone_steps(model, r, g)), 1)[0] for r, g in zip(made, seeds, strict=True)]
    c = SwiRController(swir.config(SWIR, max_new), 2, device) if swir is not None else None
    steps = generate(model, batch, max_new_tokens=max_new, sampling=sampling, eos_ids=(4,), controller=c)
    return got, row_values(list(steps), 2)


@pytest.mark.parametrize("first", [[0, 0, 0, 21, 22, 23], [11, 12, 13, 21, 22, 23]], ids=["padded", "unpadded"])
@pytest.mark.parametrize("sampling", [GREEDY, SAMPLED], ids=["greedy", "sampled"])
def test_static_path_emits_the_eager_loops_tokens(qwen3, sampling, first):
    """Two requests (prompts of other lengths, or of one), plain and SwiReasoning, on the static
    cache through the engine and on the eager loop: the same tokens, latent steps and ends."""
    runs = []
    for swir in (None, SwiRParams()):
        runs = engine_and_eager(qwen3, padded_pair(first), sampling, swir)
        assert runs[0] == runs[1]
    assert len({t for row in runs[0] for t, _, _ in row}) > 3, "the tiny model should not repeat one token"


def test_batched_engine_matches_each_job_alone_with_rows_admitted_mid_flight(qwen3):
    """Plain and SwiReasoning, greedy and sampled rows with their own generators in one decode loop;
    two rows join while the first two are running."""
    engine = BatchEngine(StaticRows(qwen3, (4,), SWIR, capacity=4, max_len=96))
    made = [request(i, swir=i % 2 == 1, greedy=i == 2) for i in range(4)]
    first = [engine.submit(r) for r, _ in made[:2]]
    head = [next(iter(first[0])) for _ in range(3)]  # the loop is running before the others arrive
    later = [engine.submit(r) for r, _ in made[2:]]
    got = [[int(s.ids[0]) for s in head] + tokens(first[0])] + [tokens(t) for t in first[1:] + later]
    for (r, seed), out in zip(made, got, strict=True):
        r.generator = None
        assert out == alone(qwen3, r, seed)


def test_stop_frees_the_row_within_a_step_and_the_others_run_on(qwen3):
    rows = StaticRows(qwen3, (-1,), SWIR, capacity=2, max_len=256)
    engine = BatchEngine(rows)
    (long_r, _), (other_r, other_seed) = request(0, False, False, max_new=200), request(1, True, False, max_new=40)
    long_t, other_t = engine.submit(long_r), engine.submit(other_r)
    it = iter(long_t)
    for _ in range(3):
        next(it)
    long_t.cancel()
    emitted_at_cancel = long_t.emitted
    rest = list(it)
    assert long_t.emitted <= emitted_at_cancel + 1, "a cancelled row runs at most the step in flight"
    assert len(rest) < 200 - 3
    third_r, third_seed = request(2, False, True, max_new=16)
    third = engine.submit(third_r)  # takes the freed slot
    assert tokens(other_t) == alone(qwen3, other_r, other_seed, eos=(-1,))
    assert tokens(third) == alone(qwen3, third_r, third_seed, eos=(-1,))
    assert not rows.running()


def test_eager_rows_interleave_the_hybrid_model_as_if_alone(tiny_model):
    from worker.backends.local import LocalEngine
    from worker.queue.protocol import ChatMessage

    engine = LocalEngine.load(str(tiny_model), "cpu")
    rows = EagerRows(engine.model, engine.eos_ids, engine.swir_base, capacity=4)
    loop = BatchEngine(rows)
    made = []
    for i, text in enumerate(["Hello there.", "Why is the sky blue? Think."]):
        batch = engine.encode([engine.render([ChatMessage(role="user", content=text)], True)], [[]])
        swir = SwiRParams(window=4) if i else None
        made.append((Request(batch, SAMPLED, 12, torch.Generator().manual_seed(i), swir), i))
    tickets = [loop.submit(r) for r, _ in made]
    for (r, seed), t in zip(made, tickets, strict=True):
        assert tokens(t) == alone(engine.model, r, seed, engine.eos_ids, engine.swir_base)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_decode_loops_run_on_cuda():
    """The eager loop and the captured static step (through the engine) on CUDA, greedy, same
    tokens (float64: no bf16 ties)."""
    model = tiny_qwen3("cuda")
    for swir in (None, SwiRParams()):
        got, want = engine_and_eager(model, padded_pair([0, 0, 21, 22, 23, 24], "cuda"), GREEDY, swir, False)
        assert got == want


def test_cheap_sampling_keeps_the_warpers_masks_and_multinomials_draws():
    """Top-k + top-p sorting only the top-k candidates masks exactly what transformers' TopK then
    TopP warpers mask (float32 logits: no ties), and `draw` picks torch.multinomial's ids from the
    same generator state: the eager loop stays the warpers' and multinomial's oracle."""
    from transformers import TopKLogitsWarper, TopPLogitsWarper

    from swireasoning.decode import draw, filter_logits

    g = torch.Generator().manual_seed(5)
    for vocab, params in ((3000, SamplingParams(0.6, 0.95, 20)), (30, SamplingParams(0.8, 0.5, 25))):
        logits = torch.randn(6, vocab, generator=g) * 4
        ref = TopPLogitsWarper(params.top_p)(None, TopKLogitsWarper(params.top_k)(None, logits / params.temperature))
        assert torch.equal(filter_logits(logits, params), ref)
        probs = ref.softmax(-1)
        a, b = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
        for _ in range(20):
            assert torch.equal(draw(probs, a), torch.multinomial(probs, 1, generator=b).squeeze(-1))
