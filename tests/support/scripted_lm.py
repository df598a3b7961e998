"""Language models for tests whose logits are chosen, not computed, so every SwiReasoning path is reached
by construction on any CPU (no float trajectory of a random model decides what a test exercises).

`ScriptedLM`: row r's logits at decode step t are `script(r, t)`, whatever was fed; it records what each
row was fed after each step. `Lockstep`: a real model whose logits are recorded on one run and replayed
on another, so two decode loops see the same logits at every step even when their fed embeddings differ
in the last bit. Both follow the rows a loop keeps through `reorder_cache`, as a real model's cache does.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import torch
from torch import Tensor, nn
from transformers import PretrainedConfig

Script = Callable[[int, int], Tensor]  # (row, step) -> logits [V]


def peak(token: int, level: float, vocab: int) -> Tensor:
    """Logits whose argmax is `token` and whose entropy falls as `level` (> 0) rises."""
    x = torch.zeros(vocab)
    x[token] = level
    return x


class ScriptedLM(nn.Module):
    """A model with the decode loop's interface (`get_input_embeddings`, `config`, a forward taking ids or
    embeddings and a cache) whose next-token logits come from a script."""

    def __init__(self, vocab: int, script: Script, dim: int = 8, eos_id: int = 0, seed: int = 0) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        with torch.no_grad():
            self.embed.weight.copy_(torch.randn(vocab, dim, generator=torch.Generator().manual_seed(seed)))
        self.script = script
        self.config = PretrainedConfig(num_hidden_layers=1)
        self.generation_config = SimpleNamespace(eos_token_id=eos_id)
        self.fed: dict[tuple[int, int], Tensor] = {}  # (row, step) -> the input fed after that step

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed

    def forward(self, input_ids=None, inputs_embeds=None, past_key_values=None, **_) -> SimpleNamespace:
        if input_ids is not None:  # prefill: the cache remembers each row's identity and the prompt length
            bsz, width = input_ids.shape
            mark = torch.arange(bsz, dtype=torch.float32).view(bsz, 1, 1, 1).expand(bsz, 1, width, 1)
            keys, values = past_key_values.update(mark, torch.full_like(mark, width), layer_idx=0)
        else:
            keys, values = past_key_values.layers[0].keys, past_key_values.layers[0].values
            keys, values = past_key_values.update(keys[:, :, :1], values[:, :, :1], layer_idx=0)
        rows = [int(r) for r in keys[:, 0, 0, 0]]
        step = keys.shape[2] - int(values[0, 0, 0, 0])
        if inputs_embeds is not None:
            for i, row in enumerate(rows):
                self.fed[(row, step - 1)] = inputs_embeds[i, -1].clone()
        logits = torch.stack([self.script(row, step) for row in rows])
        return SimpleNamespace(logits=logits[:, None, :])


class Lockstep:
    """Wraps a real model. `record` mode: returns its logits and keeps them per (row, step). `replay` mode
    (given a recording): runs the model on what this loop feeds (cache, positions and row drops really
    happen) but returns the recorded logits, so both loops decide on the same numbers at every step."""

    def __init__(self, model, recording: Lockstep | None = None) -> None:
        self.model, self.recording = model, recording
        self.config = model.config
        self.logits: dict[tuple[int, int], Tensor] = {}  # what the loop was given
        self.computed: dict[tuple[int, int], Tensor] = {}  # what the model computed
        self.fed: dict[tuple[int, int], Tensor] = {}
        self.rows = torch.arange(0)
        self.step = 0

    def get_input_embeddings(self):
        return self.model.get_input_embeddings()

    def __call__(self, **kw) -> SimpleNamespace:
        if kw.get("input_ids") is not None:
            self._follow(kw["past_key_values"], kw["input_ids"].shape[0])
        else:
            self.step += 1
            for i, row in enumerate(self.rows.tolist()):
                self.fed[(row, self.step - 1)] = kw["inputs_embeds"][i, -1].clone()
        computed = self.model(**kw).logits[:, -1]
        given = []
        for i, row in enumerate(self.rows.tolist()):
            self.computed[(row, self.step)] = computed[i].clone()
            recorded = self.recording.logits if self.recording is not None else self.computed
            given.append(recorded.get((row, self.step), computed[i]))  # past the recording: a call after the end
            self.logits[(row, self.step)] = given[-1]
        return SimpleNamespace(logits=torch.stack(given)[:, None, :])

    def _follow(self, cache, bsz: int) -> None:
        """Track which original rows are left each time the loop drops finished ones from the cache."""
        self.rows, self.step = torch.arange(bsz), 0
        reorder = cache.reorder_cache

        def tracked(keep):
            self.rows = self.rows[keep]
            reorder(keep)

        cache.reorder_cache = tracked
