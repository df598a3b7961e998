"""The Battle tab (two hidden contenders, a vote, then the names) and the Leaderboard tab."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from demo.battle import TABLE_HEADERS, Contender, contenders, draw, leaderboard, table
from demo.chat import ChatService
from demo.render import chat_messages, plural
from demo.session import ChatSession, Params, snapshot_of
from demo.widgets import Page, chat_pane, pair, prompt_box, rejected_turn
from worker.jobs import Outcome, RioError, Vote

VOTES: dict[Outcome, str] = {"a": "👈 A is better", "b": "👉 B is better", "tie": "🤝 Tie", "both_bad": "👎 Both bad"}
HIDDEN = "Two models were drawn at random; their names are shown after you vote."


@dataclass
class Battle:
    sides: tuple[Contender, Contender] | None = None
    sessions: list[ChatSession] = field(default_factory=pair)
    vote: Outcome | None = None


def reveal(b: Battle) -> str:
    if b.sides is None or b.vote is None:
        return HIDDEN
    a, bb = b.sides
    return f"You voted **{VOTES[b.vote]}**. A was **{a.name}**, B was **{bb.name}**. Start a new battle for another."


def build_battle(service: ChatService, page: Page) -> None:
    pool = contenders(list(page.models.values()))
    state = gr.State(Battle())
    info = gr.Markdown(HIDDEN if len(pool) >= 2 else "Battles need at least two models.", elem_id="battle-info")
    with gr.Row():
        pane_a = chat_pane("Model A", "battle-a")
        pane_b = chat_pane("Model B", "battle-b")
    textbox = prompt_box("battle-prompt", "Ask both hidden models")
    with gr.Row():
        buttons = {o: gr.Button(text, elem_id=f"vote-{o}") for o, text in VOTES.items()}
        new = gr.Button("New battle", elem_id="new-battle")
    outputs = [pane_a, pane_b, info]

    async def ask(message: dict, b: Battle, request: gr.Request, **knobs: Any):
        """Ask two hidden models, drawn at random, the same message; their names show after a vote."""
        if b.vote is not None:
            yield {info: "This battle is decided; start a new battle to ask again."}
            return
        up = [c for c in pool if await service.down_detail(c.model) is None]
        if b.sides is None and len(up) < 2:
            yield {info: "Battles need at least two models that are up right now."}
            return
        b.sides = b.sides or draw(up)
        sides = [Params.parse({**knobs, "model": c.model, "reasoning": c.mode}) for c in b.sides]
        text = message.get("text") or ""
        try:
            turn = await service.new_turn(text, message.get("files") or [], page.visitor(request))
        except RioError as exc:
            for s in b.sessions:
                s.turns.append(rejected_turn(text, exc))
            yield {pane_a: chat_messages(b.sessions[0]), pane_b: chat_messages(b.sessions[1]), state: b}
            return
        for s in b.sessions:
            s.turns.append(turn.retry())
        yield {textbox: gr.MultimodalTextbox(value=None, interactive=False), state: b}
        who = page.visitor(request)
        held = {textbox: None, info: HIDDEN}  # see widgets.HELD_VALUES
        async for _ in service.run_sides(list(zip(b.sessions, sides, strict=True)), who):
            yield {**held, pane_a: chat_messages(b.sessions[0]), pane_b: chat_messages(b.sessions[1])}
        yield {pane_a: chat_messages(b.sessions[0]), pane_b: chat_messages(b.sessions[1]), state: b, info: HIDDEN,
               textbox: gr.MultimodalTextbox(interactive=True)}  # fmt: skip

    def voter(outcome: Outcome):
        async def vote(b: Battle) -> dict:
            if b.vote is not None:
                return {info: reveal(b)}
            if b.sides is None or not all(s.turns and s.turns[-1].job_id for s in b.sessions):
                return {info: "Ask something and let both models answer before voting."}
            if any(s.running for s in b.sessions):
                return {info: "Wait for both answers to finish, then vote."}
            battle_id = await service.share(snapshot_of("battle", b.sessions, [c.name for c in b.sides], outcome))
            await service.client.votes.add(Vote(battle=battle_id, a=b.sides[0].name, b=b.sides[1].name,
                                                outcome=outcome))  # fmt: skip
            b.vote = outcome
            return {info: reveal(b), state: b}

        return vote

    for outcome, button in buttons.items():
        button.click(voter(outcome), [state], [info, state], api_name=f"vote_{outcome}")
    textbox.submit(ask, [textbox, state], [*outputs, textbox, state], inputs_kwargs=page.knobs.inputs(),
                   api_name="battle", concurrency_limit=None)  # fmt: skip
    new.click(lambda: (Battle(), [], [], HIDDEN), None, [state, pane_a, pane_b, info], api_name="new_battle")


def build_leaderboard(service: ChatService, demo: gr.Blocks) -> gr.Dataframe:
    gr.Markdown(
        "Ratings are a Bradley-Terry fit on the Elo scale (1000 = average) over every blind-battle vote; "
        "ties and *both bad* count half a win each; intervals are 95% bootstrap intervals (200 resamples)."
    )
    board = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, elem_id="leaderboard")

    async def note() -> str:
        n = len(await service.client.votes.all())
        return f"{plural(n, 'vote')} so far." if n else "No votes yet: play a blind battle and vote to start it."

    count = gr.Markdown(elem_id="leaderboard-note")
    demo.load(note, None, [count], api_visibility="private")
    refresh = gr.Button("Refresh", elem_id="refresh-leaderboard")

    async def compute() -> list[list]:
        votes = await service.client.votes.all()
        return table(await asyncio.to_thread(leaderboard, votes))

    refresh.click(compute, None, [board], api_name="leaderboard").then(note, None, [count], api_visibility="private")
    return board
