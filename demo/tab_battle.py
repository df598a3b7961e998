"""The Battle tab (two hidden contenders, a vote, then the names) and the Leaderboard tab."""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from demo.battle import TABLE_HEADERS, Contender, contenders, draw, leaderboard, table
from demo.chat import ChatService
from demo.i18n import lang_of, text
from demo.render import chat_messages, plural
from demo.session import ChatSession, Params, snapshot_of
from demo.widgets import Page, chat_pane, pair, prompt_box, rejected_turn
from worker.jobs import Outcome, RioError, Snapshot, Vote, VoteRefused

VOTES: dict[Outcome, str] = {"a": "👈 A is better", "b": "👉 B is better", "tie": "🤝 Tie", "both_bad": "👎 Both bad"}
HIDDEN = "Two models were drawn at random; their names are shown after you vote."


@dataclass
class Battle:
    sides: tuple[Contender, Contender] | None = None
    sessions: list[ChatSession] = field(default_factory=pair)
    vote: Outcome | None = None
    draw: str = field(default_factory=lambda: uuid.uuid4().hex)  # this battle, for its one vote


def reveal(b: Battle) -> str:
    if b.sides is None or b.vote is None:
        return HIDDEN
    a, bb = b.sides
    return f"You voted **{VOTES[b.vote]}**. A was **{a.name}**, B was **{bb.name}**. Start a new battle for another."


def lang(request: gr.Request | None) -> str:
    """The visitor's language, from what the browser accepts."""
    return lang_of(request.headers.get("accept-language") if request is not None else None)


def refusal(exc: VoteRefused, language: str) -> str:
    if exc.reason == "hourly":
        return text("vote.refused.hourly", language, limit=exc.limit, minutes=math.ceil(exc.wait_s / 60))
    return text("vote.refused.once", language)


def not_counted(vote: Vote, cap: int, language: str) -> str:
    """Why a stored vote does not count, for the voter (empty when it counts)."""
    if vote.excluded == "names_a_model":
        return text("vote.not_counted.names_a_model", language, word=vote.reason.rsplit(" names ", 1)[-1])
    if vote.excluded == "voter_pair_cap":
        return text("vote.not_counted.voter_pair_cap", language, cap=cap)
    return ""


async def cast(service: ChatService, snapshot: Snapshot, draw: str, client_id: str) -> Vote:
    """Admit the voter (one vote per battle, votes per hour), keep the battle, store the vote."""
    votes = service.client.votes
    voter = await votes.admit(client_id, draw)
    try:
        battle_id = await service.share(snapshot)
    except BaseException:
        await votes.unclaim(draw)
        raise
    return await votes.record(snapshot, battle_id, voter)


def build_battle(service: ChatService, page: Page) -> None:
    pool = contenders(list(page.models.values()), service.client.settings.battle_contenders)
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
        async def vote(b: Battle, request: gr.Request) -> dict:
            if b.vote is not None:
                return {info: reveal(b)}
            if b.sides is None or not all(s.turns and s.turns[-1].job_id for s in b.sessions):
                return {info: "Ask something and let both models answer before voting."}
            if any(s.running for s in b.sessions):
                return {info: "Wait for both answers to finish, then vote."}
            snapshot = snapshot_of("battle", b.sessions, [c.name for c in b.sides], outcome)
            language = lang(request)
            try:
                kept = await cast(service, snapshot, b.draw, page.visitor(request))
            except VoteRefused as exc:
                return {info: refusal(exc, language)}
            except RioError as exc:
                return {info: exc.message}
            b.vote = outcome
            why = not_counted(kept, service.client.settings.voter_pair_daily_cap, language)
            return {info: reveal(b) + (f"\n\n{why}" if why else ""), state: b}

        return vote

    for outcome, button in buttons.items():
        button.click(voter(outcome), [state], [info, state], api_name=f"vote_{outcome}", concurrency_limit=None)
    textbox.submit(ask, [textbox, state], [*outputs, textbox, state], inputs_kwargs=page.knobs.inputs(),
                   api_name="battle", concurrency_limit=None)  # fmt: skip
    new.click(lambda: (Battle(), [], [], HIDDEN), None, [state, pane_a, pane_b, info], api_name="new_battle")


def build_leaderboard(service: ChatService, demo: gr.Blocks) -> gr.Dataframe:
    gr.Markdown(
        "Ratings are a Bradley-Terry fit on the Elo scale (1000 = average) over every blind-battle vote; "
        "ties and *both bad* count half a win each; intervals are 95% bootstrap intervals (200 resamples)."
    )
    headers = [*TABLE_HEADERS, text("leaderboard.excluded", "en")]  # each refresh sends the visitor's language
    board = gr.Dataframe(headers=headers, interactive=False, elem_id="leaderboard")

    async def note(request: gr.Request) -> str:
        votes = await service.client.votes.all()
        if not votes:
            return "No votes yet: play a blind battle and vote to start it."
        return f"{plural(len(votes), 'vote')} so far.\n\n{counts(votes, lang(request))}"

    count = gr.Markdown(elem_id="leaderboard-note")
    demo.load(note, None, [count], api_visibility="private")
    refresh = gr.Button("Refresh", elem_id="refresh-leaderboard")
    with gr.Accordion("🤗", open=False, elem_id="signed-in-leaderboard"):
        signed_in_note = gr.Markdown()
        signed_in = gr.Dataframe(headers=headers, interactive=False)

    async def compute(request: gr.Request) -> dict:
        return await standings(service, lang(request), signed_in_only=False)

    async def compute_signed_in(request: gr.Request) -> tuple[str, dict]:
        language = lang(request)
        return text("leaderboard.signed_in", language), await standings(service, language, signed_in_only=True)

    refresh.click(compute, None, [board], api_name="leaderboard").then(note, None, [count], api_visibility="private")
    refresh.click(compute_signed_in, None, [signed_in_note, signed_in], api_name="leaderboard_signed_in")
    return board


async def standings(service: ChatService, language: str, signed_in_only: bool) -> dict:
    """The table's value: its headers (the new column in the visitor's language) and rows."""
    votes = [v for v in await service.client.votes.all() if v.signed_in or not signed_in_only]
    rows = table(await asyncio.to_thread(leaderboard, votes))
    return {"headers": [*TABLE_HEADERS, text("leaderboard.excluded", language)], "data": rows}


def counts(votes: list[Vote], language: str) -> str:
    """How many votes count, and why the others do not."""
    named = sum(v.excluded == "names_a_model" for v in votes)
    capped = sum(v.excluded == "voter_pair_cap" for v in votes)
    return text("leaderboard.counts", language, counted=len(votes) - named - capped, excluded=named + capped,
                named=named, capped=capped)  # fmt: skip
