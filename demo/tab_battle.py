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
from demo.i18n import I18N, counted, say, text
from demo.render import chat_messages
from demo.session import ChatSession, Params, snapshot_of
from demo.widgets import Page, chat_pane, pair, prompt_box, rejected_turn
from worker.jobs import Outcome, RioError, Snapshot, Vote, VoteRefused, error_event

OUTCOMES: tuple[Outcome, ...] = ("a", "b", "tie", "both_bad")


@dataclass
class Battle:
    sides: tuple[Contender, Contender] | None = None
    sessions: list[ChatSession] = field(default_factory=pair)
    vote: Outcome | None = None
    draw: str = field(default_factory=lambda: uuid.uuid4().hex)  # this battle, for its one vote


def reveal(page: Page, b: Battle, lang: str) -> str:
    if b.sides is None or b.vote is None:
        return text("battle.hidden", lang)
    a, bb = (page.side(c.model, c.mode, lang) for c in b.sides)  # the stored names are English
    return text("battle.reveal", lang, vote=text(f"battle.vote_{b.vote}", lang), a=a, b=bb)


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
    info = gr.Markdown(I18N("battle.hidden" if len(pool) >= 2 else "battle.need_two"), elem_id="battle-info")
    with gr.Row():
        pane_a = chat_pane(I18N("battle.model_a"), "battle-a")
        pane_b = chat_pane(I18N("battle.model_b"), "battle-b")
    textbox = prompt_box("battle-prompt", "battle.placeholder")
    with gr.Row():
        buttons = {o: gr.Button(I18N(f"battle.vote_{o}"), elem_id=f"vote-{o}") for o in OUTCOMES}
        new = gr.Button(I18N("battle.new"), elem_id="new-battle")
    outputs = [pane_a, pane_b, info]

    async def ask(message: dict, b: Battle, lang: str | None, request: gr.Request, **knobs: Any):
        """Ask two hidden models, drawn at random, the same message; their names show after a vote."""
        lang = page.lang_for(lang, request)
        for s in b.sessions:
            s.lang = lang
        if b.vote is not None:
            yield {info: text("battle.decided", lang)}
            return
        up = [c for c in pool if await service.down_detail(c.model) is None]
        if b.sides is None and len(up) < 2:
            yield {info: text("battle.need_two_up", lang)}
            return
        b.sides = b.sides or draw(up)
        sides = [Params.parse({**knobs, "model": c.model, "reasoning": c.mode}) for c in b.sides]
        prompt = message.get("text") or ""
        try:
            turn = await service.new_turn(prompt, message.get("files") or [], page.visitor(request))
        except RioError as exc:
            for s in b.sessions:
                s.turns.append(rejected_turn(prompt, exc))
            yield {pane_a: chat_messages(b.sessions[0]), pane_b: chat_messages(b.sessions[1]), state: b}
            return
        for s in b.sessions:
            s.turns.append(turn.retry())
        yield {textbox: gr.MultimodalTextbox(value=None, interactive=False), state: b}
        who = page.visitor(request)
        held = {textbox: None, info: text("battle.hidden", lang)}  # see widgets.HELD_VALUES
        async for _ in service.run_sides(list(zip(b.sessions, sides, strict=True)), who):
            yield {**held, pane_a: chat_messages(b.sessions[0]), pane_b: chat_messages(b.sessions[1])}
        yield {pane_a: chat_messages(b.sessions[0]), pane_b: chat_messages(b.sessions[1]), state: b, info: held[info],
               textbox: gr.MultimodalTextbox(interactive=True)}  # fmt: skip

    def voter(outcome: Outcome):
        async def vote(b: Battle, lang: str | None, request: gr.Request) -> dict:
            lang = page.lang_for(lang, request)
            if b.vote is not None:
                return {info: reveal(page, b, lang)}
            if b.sides is None or not all(s.turns and s.turns[-1].job_id for s in b.sessions):
                return {info: text("battle.ask_first", lang)}
            if any(s.running for s in b.sessions):
                return {info: text("battle.wait_vote", lang)}
            snapshot = snapshot_of("battle", b.sessions, [c.name for c in b.sides], outcome)
            try:
                kept = await cast(service, snapshot, b.draw, page.visitor(request))
            except VoteRefused as exc:
                return {info: refusal(exc, lang)}
            except RioError as exc:
                return {info: say(error_event(exc), lang)}
            b.vote = outcome
            why = not_counted(kept, service.client.settings.voter_pair_daily_cap, lang)
            return {info: reveal(page, b, lang) + (f"\n\n{why}" if why else ""), state: b}

        return vote

    for outcome, button in buttons.items():
        button.click(voter(outcome), [state, page.lang], [info, state], api_name=f"vote_{outcome}",
                     concurrency_limit=None)  # fmt: skip
    textbox.submit(ask, [textbox, state, page.lang], [*outputs, textbox, state], inputs_kwargs=page.knobs.inputs(),
                   api_name="battle", concurrency_limit=None)  # fmt: skip
    new.click(lambda: (Battle(), [], [], I18N("battle.hidden")), None, [state, pane_a, pane_b, info],
              api_name="new_battle")  # fmt: skip


def build_leaderboard(service: ChatService, demo: gr.Blocks, page: Page) -> gr.Dataframe:
    gr.Markdown(I18N("board.about"))
    headers = [*(I18N(f"board.{h}") for h in TABLE_HEADERS), I18N("leaderboard.excluded")]
    board = gr.Dataframe(headers=headers, interactive=False, elem_id="leaderboard")  # type: ignore[arg-type]

    async def note(lang: str | None, request: gr.Request) -> str:
        lang = page.lang_for(lang, request)
        votes = await service.client.votes.all()
        if not votes:
            return text("board.no_votes", lang)
        return f"{counted('board.votes', len(votes), lang)}\n\n{counts(votes, lang)}"

    count = gr.Markdown(elem_id="leaderboard-note")
    demo.load(note, [page.lang], [count], api_visibility="private")
    refresh = gr.Button(I18N("board.refresh"), elem_id="refresh-leaderboard")
    with gr.Accordion("🤗", open=False, elem_id="signed-in-leaderboard"):
        signed_in_note = gr.Markdown()
        signed_in = gr.Dataframe(headers=headers, interactive=False)  # type: ignore[arg-type]

    async def compute(lang: str | None, request: gr.Request) -> dict:
        return await standings(service, page, page.lang_for(lang, request), signed_in_only=False)

    async def compute_signed_in(lang: str | None, request: gr.Request) -> tuple[str, dict]:
        lang = page.lang_for(lang, request)
        return text("leaderboard.signed_in", lang), await standings(service, page, lang, signed_in_only=True)

    refresh.click(compute, [page.lang], [board], api_name="leaderboard").then(
        note, [page.lang], [count], api_visibility="private"
    )
    refresh.click(compute_signed_in, [page.lang], [signed_in_note, signed_in], api_name="leaderboard_signed_in")
    return board


async def standings(service: ChatService, page: Page, language: str, signed_in_only: bool) -> dict:
    """The table's value: its headers and the contenders' names in the visitor's language, and rows."""
    votes = [v for v in await service.client.votes.all() if v.signed_in or not signed_in_only]
    rows = table(await asyncio.to_thread(leaderboard, votes))
    shown = {
        c.name: page.side(c.model, c.mode, language)
        for c in contenders(list(page.models.values()), service.client.settings.battle_contenders)
    }
    headers = [*(text(f"board.{h}", language) for h in TABLE_HEADERS), text("leaderboard.excluded", language)]
    return {"headers": headers, "data": [[shown.get(row[0], row[0]), *row[1:]] for row in rows]}


def counts(votes: list[Vote], language: str) -> str:
    """How many votes count, and why the others do not."""
    named = sum(v.excluded == "names_a_model" for v in votes)
    capped = sum(v.excluded == "voter_pair_cap" for v in votes)
    return text("leaderboard.counts", language, counted=len(votes) - named - capped, excluded=named + capped,
                named=named, capped=capped)  # fmt: skip
