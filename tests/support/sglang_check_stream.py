"""The plugin's switch counts through SGLang 0.5.23's real chat stream, on the CPU (runs in `.venv-sglang`).

SGLang's own `OpenAIServingChat._generate_chat_stream` (qwen3 reasoning parser) and
`TokenizerManager.update_request_meta_info`, with the plugin's hooks applied by the real
`HookRegistry`, stream a generation whose per-token entries come from a real `SwiRTable` step by step,
as the sample hook ships them through `customized_info`. Only the tokenizer manager's transport is a
stand-in: it yields what the detokenizer would, one token per output. The same tokens are streamed
for a request without SwiReasoning (its rows carry None entries, as in a mixed batch) with the hooks
and with SGLang's unhooked function.

Writes JSON to stdout: the SSE strings of each stream, the totals the table reached, and what the
meta info of the plain request held. tests/sglang/test_sglang_plugin.py reads it with the demo's backend.

    PYTHONPATH=. .venv-sglang/bin/python tests/support/sglang_check_stream.py
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from types import SimpleNamespace
from typing import Any

from tests.support import sglang_cpu

sglang_cpu.install()

import torch  # noqa: E402
from sglang.srt.entrypoints.openai.protocol import ChatCompletionRequest  # noqa: E402
from sglang.srt.entrypoints.openai.serving_chat import OpenAIServingChat  # noqa: E402
from sglang.srt.managers.io_struct import GenerateReqInput  # noqa: E402
from sglang.srt.managers.tokenizer_manager import ReqState, TokenizerManager  # noqa: E402
from sglang.srt.parser.template_manager import TemplateManager  # noqa: E402
from sglang.srt.plugins.hook_registry import HookRegistry  # noqa: E402
from sglang.srt.server_args import ServerArgs, set_global_server_args_for_tokenizer  # noqa: E402

from swireasoning import sglang_http, sglang_plugin  # noqa: E402
from swireasoning.controller import SwiRConfig, SwiRParams  # noqa: E402
from swireasoning.engine_table import SwiRTable  # noqa: E402
from swireasoning.progress import STEP_KEY  # noqa: E402

SWIR = SwiRConfig(think_id=1, end_think_id=2, linebreak_id=3, eos_ids=(0,), convergence_ids=(2,),
                  termination_ids=(2, 3), window=2, max_new_tokens=60)  # fmt: skip
STEPS, THINK_STEPS = 48, 40
# Entropy falls as the level rises. With a 2-step dwell: explicit at 1, latent at 3, then explicit and latent
# again every 3 steps, by construction (no random logits, so on any CPU).
LEVELS = [1.0, 2.0, 2.0, 0.5] + [2.5, 2.5, 0.5] * (STEPS // 3)
SERVER_ARGS = ServerArgs(model_path="dummy", reasoning_parser="qwen3")


def generation() -> tuple[list[str], list[list[int] | None], dict[str, int]]:
    """Token texts and their per-token entries from a real table, as the scheduler would produce them."""
    table = SwiRTable(SWIR, capacity=4)
    table.admit("rid-0", SwiRParams(), max_new_tokens=60)
    texts, entries, switches, latent = [], [], 0, 0
    for step in range(STEPS):
        logits = torch.zeros(2, 16)
        logits[:, 5 + step % 8] = LEVELS[step]
        outcome = table.step(["other", "rid-0"], logits, torch.full((2,), 4 + step % 12))
        assert outcome is not None
        entry = outcome.step_info(2)[1]
        entries.append(entry)
        latent += entry[0]
        switches = entry[2]
        texts.append("</think>" if step == THINK_STEPS else f"w{step} ")
    return texts, entries, {"switch_count": switches, "latent_tokens": latent, "tokens": STEPS}


class Transport(TokenizerManager):
    """What reaches `generate_request`'s caller: one output per token, meta info updated by SGLang's code."""

    def __init__(self, texts: list[str], entries: list[Any]) -> None:  # SGLang's __init__ starts processes
        self.texts, self.entries, self.meta_infos = texts, entries, []
        self.server_args, self.tokenizer = SERVER_ARGS, None
        hf_config = SimpleNamespace(model_type="qwen3_5_moe", architectures=["Qwen3_5MoeForConditionalGeneration"])
        self.model_config = SimpleNamespace(get_default_sampling_params=dict, hf_config=hf_config)

    def config_value(self, name: str) -> Any:
        return {"reasoning_parser": "qwen3"}.get(name)

    async def generate_request(self, obj: GenerateReqInput, request: Any = None):  # type: ignore[override]
        obj.rid = obj.rid or "rid-0"
        state = ReqState([], False, asyncio.Event(), obj, None)
        meta: dict[str, Any] = {"id": obj.rid, "prompt_tokens": 12, "cached_tokens": 0, "weight_version": "default"}
        for i, entry in enumerate(self.entries):
            last = i == len(self.entries) - 1
            finish = {"type": "stop", "matched": None} if last else None
            self.update_request_meta_info(meta, state, {STEP_KEY: [[entry]]}, 0, finish)  # SGLang's, hooked
            meta.update(completion_tokens=i + 1, reasoning_tokens=min(i + 1, THINK_STEPS), finish_reason=finish)
            yield {"text": "".join(self.texts[: i + 1]), "meta_info": dict(meta), "index": 0}
        self.meta_infos.append(meta)


def serving(transport: Transport) -> OpenAIServingChat:
    return OpenAIServingChat(transport, TemplateManager())


def chat_request(custom: dict | None, stream: bool = True) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({
        "model": "rio-3.5-open-397b", "messages": [{"role": "user", "content": "Why is the sky blue?"}],
        "stream": stream, "stream_options": {"include_usage": True} if stream else None,
        "separate_reasoning": True, "chat_template_kwargs": {"enable_thinking": True}, "custom_params": custom,
    })  # fmt: skip


async def stream(fn: Any, chat: OpenAIServingChat, custom: dict | None) -> list[str]:
    request = chat_request(custom)
    adapted = GenerateReqInput(text="prompt", stream=True, rid="rid-0")
    return [chunk async for chunk in fn(chat, adapted, request, None)]


def same_apart_from_time(a: list[str], b: list[str]) -> bool:
    def drop(chunks: list[str]) -> list[str]:
        return [re.sub(r'"created":\s*\d+', "", c) for c in chunks]

    return drop(a) == drop(b)


async def main() -> int:
    set_global_server_args_for_tokenizer(SERVER_ARGS)
    sglang_plugin.register()
    HookRegistry.apply_hooks()
    texts, entries, totals = generation()
    hooked, unhooked = OpenAIServingChat._generate_chat_stream, OpenAIServingChat._generate_chat_stream.__wrapped__
    swir = Transport(texts, entries)
    swir_chunks = await stream(hooked, serving(swir), {"swireasoning": {"window": 2}})
    plain = Transport(texts, [None] * len(entries))
    plain_chunks = await stream(hooked, serving(plain), None)
    original = await stream(unhooked, serving(Transport(texts, [None] * len(entries))), None)
    final = {"text": "".join(texts), "meta_info": swir.meta_infos[0], "index": 0}
    response = serving(swir)._build_chat_response(chat_request({"swireasoning": {}}, stream=False), [final], 0)
    print(json.dumps({
        "swireasoning": swir_chunks, "totals": totals, "entries": entries,
        "swir_meta_has_steps": STEP_KEY in swir.meta_infos[0], "metadata": response.metadata,
        "plain": plain_chunks, "plain_meta_keys": sorted(plain.meta_infos[0]),
        "plain_same_as_unhooked": same_apart_from_time(plain_chunks, original),
        "folds_left": len(sglang_http.HTTP.folds),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
