"""The Battle tab (two hidden contenders, a vote, then the names) and the Leaderboard tab."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import gradio as gr

from demo.battle import TABLE_HEADERS, Contender, contenders, draw, leaderboard, table
from demo.chat import ChatService
from demo.i18n import I18N, counted, text
from demo.render import chat_messages
from demo.session import ChatSession, snapshot_of
from demo.widgets import Page, chat_pane, pair, params, prompt_box, rejected_turn
from worker.jobs import Outcome, RioError, Vote

OUTCOMES: tuple[Outcome, ...] = ("a", "b", "tie", "both_bad")


@dataclass
class Battle:
    sides: tuple[Contender, Contender] | None = None
    sessions: list[ChatSession] = field(default_factory=pair)
    vote: Outcome | None = None


def reveal(page: Page, b: Battle, lang: str) -> str:
    if b.sides is None or b.vote is None:
        return text("battle.hidden", lang)
    a, bb = (page.side(c.model, c.mode, lang) for c in b.sides)  # the stored names are English
    return text("battle.reveal", lang, vote=text(f"battle.vote_{b.vote}", lang), a=a, b=bb)


def build_battle(service: ChatService, page: Page) -> None:
    pool = contenders(list(page.models.values()))
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

    async def ask(message, b: Battle, temperature, top_p, top_k, max_tokens, seed, switches, alpha0, window,
                  lang: str | None, request: gr.Request):  # fmt: skip
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
        knobs = (temperature, top_p, top_k, max_tokens, seed, switches, alpha0, window)
        sides = [params(c.model, c.mode, knobs) for c in b.sides]
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
            battle_id = await service.share(snapshot_of("battle", b.sessions, [c.name for c in b.sides], outcome))
            await service.client.votes.add(Vote(battle=battle_id, a=b.sides[0].name, b=b.sides[1].name,
                                                outcome=outcome))  # fmt: skip
            b.vote = outcome
            return {info: reveal(page, b, lang), state: b}

        return vote

    for outcome, button in buttons.items():
        button.click(voter(outcome), [state, page.lang], [info, state], api_name=f"vote_{outcome}")
    knobs = page.knobs.components
    textbox.submit(ask, [textbox, state, *knobs, page.lang], [*outputs, textbox, state], api_name="battle",
                   concurrency_limit=None)  # fmt: skip
    new.click(lambda: (Battle(), [], [], I18N("battle.hidden")), None, [state, pane_a, pane_b, info],
              api_name="new_battle")  # fmt: skip


def build_leaderboard(service: ChatService, demo: gr.Blocks, page: Page) -> gr.Dataframe:
    gr.Markdown(I18N("board.about"))
    headers = [I18N(f"board.{h}") for h in TABLE_HEADERS]
    board = gr.Dataframe(headers=headers, interactive=False, elem_id="leaderboard")  # type: ignore[arg-type]

    async def note(lang: str | None, request: gr.Request) -> str:
        lang = page.lang_for(lang, request)
        n = len(await service.client.votes.all())
        return counted("board.votes", n, lang) if n else text("board.no_votes", lang)

    count = gr.Markdown(elem_id="leaderboard-note")
    demo.load(note, [page.lang], [count], api_visibility="private")
    refresh = gr.Button(I18N("board.refresh"), elem_id="refresh-leaderboard")

    async def compute(lang: str | None, request: gr.Request) -> list[list]:
        votes = await service.client.votes.all()
        rows = table(await asyncio.to_thread(leaderboard, votes))
        shown = {
            c.name: page.side(c.model, c.mode, page.lang_for(lang, request))
            for c in contenders(list(page.models.values()))
        }
        return [[shown.get(row[0], row[0]), *row[1:]] for row in rows]  # votes keep the English names

    refresh.click(compute, [page.lang], [board], api_name="leaderboard").then(note, [page.lang], [count],
                                                                       api_visibility="private")  # fmt: skip
    return board
