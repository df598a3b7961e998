"""Strings of the page's tabs, widgets, queue notes and errors."""

STRINGS: dict[str, dict[str, str]] = {
    # Battle votes (demo/tab_battle.py; the rules: worker/store/votes.py)
    "vote.refused.once": {
        "pt": "Esta batalha já tem seu voto: comece uma nova batalha para votar de novo.",
        "en": "This battle already has its vote: start a new battle to vote again.",
    },
    "vote.refused.hourly": {
        "pt": "Você já deu {limit} votos nesta hora, o limite por visitante. Tente de novo em {minutes} min.",
        "en": "You have cast {limit} votes this hour, the limit per visitor. Try again in {minutes} min.",
    },
    "vote.not_counted.names_a_model": {
        "pt": "Seu voto foi guardado, mas não conta no placar: uma resposta disse o nome de um modelo ou de "
        "quem o fez ({word}), então a batalha não foi às cegas.",
        "en": "Your vote is kept but not counted on the leaderboard: an answer named a model or its maker "
        "({word}), so the battle was not blind.",
    },
    "vote.not_counted.voter_pair_cap": {
        "pt": "Seu voto foi guardado, mas não conta no placar: hoje você já tem {cap} votos contados neste par "
        "de modelos, o máximo por visitante.",
        "en": "Your vote is kept but not counted on the leaderboard: you already have {cap} counted votes on "
        "this pair of models today, the most per visitor.",
    },
    # Leaderboard (demo/tab_battle.py)
    "leaderboard.excluded": {"pt": "Não contados", "en": "Not counted"},
    "leaderboard.counts": {
        "pt": "Votos contados: {counted}. Não contados: {excluded} ({named} de batalhas em que uma resposta "
        "revelou um modelo, {capped} além do máximo diário de um visitante num par de modelos).",
        "en": "Votes counted: {counted}. Not counted: {excluded} ({named} from battles where an answer gave a "
        "model away, {capped} over a visitor's daily cap on a pair of models).",
    },
    "leaderboard.signed_in": {
        "pt": "Só os votos contados de visitantes conectados com Hugging Face:",
        "en": "Counted votes of visitors signed in with Hugging Face only:",
    },
}
