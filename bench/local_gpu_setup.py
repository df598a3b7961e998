"""The local-engine GPU bench's workload: the random Qwen3 models, the prompts every column decodes,
the sampling and the SwiReasoning configuration (bench/local_gpu.py, bench/local_gpu_checks.py)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import torch

from swireasoning.controller import SwiRConfig
from swireasoning.decode import PromptBatch, SamplingParams

SAMPLING = SamplingParams(temperature=0.6, top_p=0.95, top_k=20)
GREEDY = SamplingParams(temperature=0.0)
PROMPT_LEN = 32
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
QWEN3_4B = dict(
    hidden_size=2560, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
    intermediate_size=9728, vocab_size=151_936, tie_word_embeddings=True, max_position_embeddings=40_960,
    rope_theta=1_000_000.0, rms_norm_eps=1e-6,
)  # fmt: skip
SMOKE = dict(
    hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
    intermediate_size=128, vocab_size=2048, tie_word_embeddings=True, max_position_embeddings=512,
)  # fmt: skip
FP32_CHECK = dict(
    hidden_size=1024, num_hidden_layers=4, num_attention_heads=16, num_key_value_heads=8, head_dim=64,
    intermediate_size=2816, vocab_size=32_000, tie_word_embeddings=True, max_position_embeddings=4096,
    initializer_range=0.1,  # sharper logits than the default 0.02: argmax rarely a near-tie
)  # fmt: skip


def build_model(device: str, shape: dict[str, Any], dtype: torch.dtype | None = None) -> Any:
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    config = Qwen3Config(**shape)
    with torch.device(device):
        model: Any = Qwen3ForCausalLM(config)
    return model.to(dtype or (torch.bfloat16 if device == "cuda" else torch.float32)).eval()


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def prompts(batch: int, device: str, vocab: int) -> PromptBatch:
    """`batch` random prompts of PROMPT_LEN ids, seeded by the batch size: every column of a row
    decodes these very prompts."""
    g = torch.Generator().manual_seed(batch)
    ids = torch.randint(1000, vocab - 1000, (batch, PROMPT_LEN), generator=g).to(device)
    mask = torch.ones_like(ids)
    position = (mask.cumsum(-1) - 1).clamp(min=0)
    return PromptBatch(ids, mask, position, position[:, -1] + 1)


def prompt_record(batch: PromptBatch, seed: int) -> dict[str, Any]:
    """What the JSON keeps of a row's prompts: enough to tell two rows decoded the same ones."""
    ids = batch.input_ids.cpu().tolist()
    digest = hashlib.sha1(repr(ids).encode()).hexdigest()[:16]
    return {"rows": len(ids), "length": len(ids[0]), "seed": seed, "sha1": digest}


def swir_cfg(tokens: int, vocab: int, window: int) -> SwiRConfig:
    """Qwen3's anchors and forced words (a random model has no tokenizer); never ends early. The
    dwell `window` is short next to `tokens`, so rows that went explicit can return to latent."""
    think, end = min(151_667, vocab - 2), min(151_668, vocab - 1)
    return SwiRConfig(
        think_id=think, end_think_id=end, linebreak_id=198, eos_ids=(-1,), math_ids=tuple(range(15, 300)),
        convergence_ids=(end,), termination_ids=(end, 271, 785, 1590, 4226, 374), max_new_tokens=tokens,
        window=window,
    )  # fmt: skip


class Deadline:
    """The bench's time budget (seconds from start; 0: none): a part that would start past it is
    skipped and says so, so one command fits the device's time."""

    def __init__(self, budget_s: float) -> None:
        self.t0, self.budget_s = time.perf_counter(), budget_s

    def passed(self) -> bool:
        return self.budget_s > 0 and self.elapsed() > self.budget_s

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0
