"""Build `tiny-random`: a deterministic random-weight `qwen3_5_moe` checkpoint for CPU demos and tests.

Same architecture family as Qwen3.5-397B-A17B (hybrid Gated-DeltaNet + full attention, routed and
shared experts, vision tower), shrunk to ~0.5 M parameters. Its tokenizer is a small byte-level BPE
trained with Qwen3.5's own pre-tokenizer, so `AutoTokenizer` (which always rebuilds
`Qwen3_5Tokenizer`) tokenizes exactly as the tokenizer was trained.

    python -m worker.ops.tiny_model var/models/tiny-random
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

log = logging.getLogger(__name__)

SEED = 20251006
BPE_VOCAB = 600
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<think>",
    "</think>",
]
# Qwen3.5's pre-tokenizer regex (transformers `tokenization_qwen3_5.PRETOKENIZE_REGEX`).
PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}"""
    r"""| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
CORPUS = """\
The City of Rio de Janeiro publishes open models for everyone. Rio 3.5 Open reasons step by step.
A Cidade do Rio de Janeiro publica modelos abertos. O modelo pensa passo a passo antes de responder.
Não há solução mágica: é preciso raciocinar, verificar e então responder à pergunta com atenção.
Let x = 3 and y = 4. Then x + y = 7, x * y = 12, and sqrt(x^2 + y^2) = 5. \\frac{a}{b} + \\sqrt{2}
What is in this image? The picture shows a beach, mountains, the sea and a sunny sky over the city.
First, think about the question. Then, answer briefly and clearly. Wait, let me check that again.
def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n
0 1 2 3 4 5 6 7 8 9 10 100 1000 2025 3.14159 -1 +1 = < > ( ) [ ] { } , . ; : ! ? ' "
"""

CHAT_TEMPLATE = r"""
{%- for message in messages -%}
{%- if message.role == 'assistant' -%}
<|im_start|>assistant
{% if message.content is string %}{{ message.content.split('</think>')[-1].lstrip('\n') }}{% endif %}<|im_end|>
{% else -%}
<|im_start|>{{ message.role }}
{% if message.content is string %}{{ message.content }}{% else %}{% for part in message.content %}{% if part.type == 'image' or part.type == 'image_url' %}<|vision_start|><|image_pad|><|vision_end|>{% elif part.type == 'text' %}{{ part.text }}{% endif %}{% endfor %}{% endif %}<|im_end|>
{% endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
<|im_start|>assistant
{% if enable_thinking is defined and enable_thinking is false %}<think>

</think>

{% else %}<think>
{% endif %}
{%- endif -%}
""".strip()


def train_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS.splitlines(keepends=True) * 4, trainer=trainer)
    return tok


def tiny_config(vocab_size: int, token_ids: dict[str, int]):  # -> Qwen3_5MoeConfig
    from transformers import Qwen3_5MoeConfig

    text = {
        "vocab_size": vocab_size,
        "hidden_size": 64,
        "num_hidden_layers": 4,  # 3 Gated-DeltaNet layers, then 1 full-attention layer
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "linear_key_head_dim": 16,
        "linear_value_head_dim": 16,
        "linear_num_key_heads": 2,
        "linear_num_value_heads": 4,
        "moe_intermediate_size": 32,
        "shared_expert_intermediate_size": 32,
        "num_experts": 4,
        "num_experts_per_tok": 2,
        "max_position_embeddings": 8192,
        "initializer_range": 0.3,  # peaky, varied next-token distributions instead of uniform noise
        # mrope_section sums to head_dim * partial_rotary_factor / 2
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "partial_rotary_factor": 0.25,
            "mrope_section": [2, 1, 1],
            "mrope_interleaved": True,
        },
        "eos_token_id": token_ids["<|im_end|>"],
        "pad_token_id": token_ids["<|endoftext|>"],
    }
    vision = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": 64,
        "num_position_embeddings": 64,  # must be a perfect square
        # Qwen3.5 has no deepstack; written out because SGLang's default ([8, 16, 24]) needs a deeper tower
        "deepstack_visual_indexes": [],
    }
    config = Qwen3_5MoeConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=token_ids["<|image_pad|>"],
        video_token_id=token_ids["<|video_pad|>"],
        vision_start_token_id=token_ids["<|vision_start|>"],
        vision_end_token_id=token_ids["<|vision_end|>"],
    )
    # The real checkpoints carry it and SGLang builds its layer pattern from it; transformers reads it
    # into `layer_types` and drops it, so it is written back.
    cast(Any, config.text_config).full_attention_interval = 4
    return config


def write_tokenizer(path: Path, tokenizer_class: str) -> tuple[dict[str, int], int]:
    """The tiny tokenizer and chat template at `path`: (special token ids, vocabulary size padded to 64)."""
    from transformers import PreTrainedTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer()
    token_ids = {t: tok.token_to_id(t) or 0 for t in SPECIAL_TOKENS}
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(path)
    # Real checkpoints name their class; AutoTokenizer rebuilds it from vocab + merges.
    cfg_file = path / "tokenizer_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["tokenizer_class"] = tokenizer_class
    cfg_file.write_text(json.dumps(cfg, indent=2))
    return token_ids, (tok.get_vocab_size() + 63) // 64 * 64


def build(path: Path) -> Path:
    """Write the checkpoint (config, weights, tokenizer, image processor) to `path`; deterministic."""
    from transformers import Qwen2VLImageProcessorPil, Qwen3_5MoeForConditionalGeneration

    token_ids, vocab_size = write_tokenizer(path, "Qwen3_5Tokenizer")
    Qwen2VLImageProcessorPil(
        patch_size=16, temporal_patch_size=2, merge_size=2, min_pixels=32 * 32, max_pixels=128 * 128
    ).save_pretrained(path)

    torch.manual_seed(SEED)
    config = tiny_config(vocab_size, token_ids)
    model = Qwen3_5MoeForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = token_ids["<|im_end|>"]
    model.save_pretrained(path)
    (path / "TINY_RANDOM").write_text("random weights: outputs are meaningless\n")
    return path


def build_qwen3(path: Path) -> Path:
    """A tiny plain (full-attention) Qwen3, the architecture of Rio 3.0 Open Mini, with the same
    tokenizer: what SGLang's normal radix cache runs on a CPU (the hybrid model's cannot)."""
    from transformers import Qwen3Config, Qwen3ForCausalLM

    token_ids, vocab_size = write_tokenizer(path, "Qwen2Tokenizer")
    torch.manual_seed(SEED)
    config = Qwen3Config(
        vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, max_position_embeddings=8192, tie_word_embeddings=True,
        initializer_range=0.3, eos_token_id=token_ids["<|im_end|>"], pad_token_id=token_ids["<|endoftext|>"],
    )  # fmt: skip
    model = Qwen3ForCausalLM(config).eval()
    model.generation_config.eos_token_id = token_ids["<|im_end|>"]
    model.save_pretrained(path)
    (path / "TINY_RANDOM").write_text("random weights: outputs are meaningless\n")
    return path


def build_apart(path: Path, qwen3: bool = False) -> Path:
    """`build` (or `build_qwen3`) in a child process, once per path, under a file lock. torch's global
    RNG is shared by every thread of a process: another thread drawing from it during an in-process
    build silently changes the weights (a test run's background server start once did)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (path / "TINY_RANDOM").exists():
            cmd = [sys.executable, "-m", "worker.ops.tiny_model", str(path), *(["--qwen3"] if qwen3 else [])]
            subprocess.run(cmd, check=True, capture_output=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--force", action="store_true", help="rebuild even if present")
    parser.add_argument("--qwen3", action="store_true", help="the tiny plain Qwen3 instead of qwen3_5_moe")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    if (args.path / "TINY_RANDOM").exists() and not args.force:
        log.info("tiny model already at %s", args.path)
        return
    (build_qwen3 if args.qwen3 else build)(args.path)
    log.info("built tiny model at %s", args.path)


if __name__ == "__main__":
    main()
