"""What an SGLang server with the SwiReasoning plugin tells its clients about thinking modes.

Per generated token the plugin records `[latent, switched_to, switch count]` (see
`RowOutcome.step_info`); SGLang accumulates them into the request's meta info under `STEP_KEY`.
`ProgressFold` turns that growing list into `SwiRProgress` messages: the plugin sends one in the
chat stream before the first text chunk and before each one whose tokens switched mode, and one
with the totals before `[DONE]`; a non-streaming response carries the totals in `metadata`. The
demo's SGLang backend reads them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

STEP_KEY = "swireasoning_steps"  # the meta-info key of the per-token entries
CHUNK_KEY = "swireasoning"  # the stream chunk's / response metadata's key of a SwiRProgress
Mode = Literal["latent", "explicit"]
TO: dict[int, Mode] = {1: "explicit", 2: "latent"}  # `Directive.switched_to` -> the mode switched to


class SwitchMark(BaseModel):
    to: Mode
    step: int  # index of the generated token at which the mode changed
    count: int  # latent -> explicit switches so far


class SwiRProgress(BaseModel):
    version: Literal[1] = 1
    tokens: int  # generated tokens covered so far
    latent_tokens: int
    latent: bool  # the latest token was generated in latent mode
    switch_count: int
    switches: list[SwitchMark] = []  # new since the previous message


class ProgressFold:
    """Folds the accumulated per-token entries into progress messages, each saying only what is new."""

    def __init__(self) -> None:
        self.tokens = self.latent_tokens = self.switch_count = 0
        self.latent = False
        self.pending: list[SwitchMark] = []
        self.sent: SwiRProgress | None = None

    def see(self, steps: list[list[int] | None]) -> None:
        for step, entry in enumerate(steps[self.tokens :], start=self.tokens):
            if entry is not None:
                latent, switched, count = entry
                self.latent, self.switch_count = bool(latent), int(count)
                self.latent_tokens += self.latent
                if switched:
                    self.pending.append(SwitchMark(to=TO[int(switched)], step=step, count=int(count)))
        self.tokens = max(self.tokens, len(steps))

    def changed(self) -> SwiRProgress | None:
        """A message when the mode changed since the last one (a switch, or the first token)."""
        if self.tokens == 0 or (self.sent is not None and not self.pending and self.latent == self.sent.latent):
            return None
        return self.take()

    def take(self) -> SwiRProgress:
        """The message for now: totals so far and the switches not sent yet."""
        self.sent = SwiRProgress(tokens=self.tokens, latent_tokens=self.latent_tokens, latent=self.latent,
                                 switch_count=self.switch_count, switches=self.pending)  # fmt: skip
        self.pending = []
        return self.sent
