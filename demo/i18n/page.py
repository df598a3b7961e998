"""Strings of the page's tabs, widgets, queue notes, stats, notices and examples (errors: `errors.py`)."""

STRINGS: dict[str, dict[str, str]] = {
    # header, language, footer
    "page.title": {"pt": "Rio 3.5 Open — demonstração", "en": "Rio 3.5 Open — demo"},
    "page.intro": {
        "pt": "# Rio 3.5 Open 397B\nModelo aberto da Prefeitura do Rio de Janeiro (MIT). O raciocínio aparece "
        "recolhido; o raciocínio *esmaecido* marca os passos latentes do SwiReasoning.",
        "en": "# Rio 3.5 Open 397B\nOpen model by the City of Rio de Janeiro (MIT). "
        "Thinking is shown collapsed; *dimmed* thinking marks SwiReasoning's latent steps.",
    },
    "page.language": {"pt": "Idioma", "en": "Language"},
    "page.data_link": {"pt": "Como usamos seus dados", "en": "How we use your data"},
    "tab.chat": {"pt": "Conversa", "en": "Chat"},
    "tab.compare": {"pt": "Comparar", "en": "Compare"},
    "tab.battle": {"pt": "Batalha", "en": "Battle"},
    "tab.leaderboard": {"pt": "Classificação", "en": "Leaderboard"},
    "tab.shared": {"pt": "Compartilhada", "en": "Shared"},
    # the registry's labels that are words (a model's name stays as it is)
    "model.tiny-random": {
        "pt": "tiny-random (pesos aleatórios, respostas sem sentido)",
        "en": "tiny-random (random weights, meaningless output)",
    },
    "model.paced": {
        "pt": "paced (texto fixo em ritmo fixo, para testes de carga)",
        "en": "paced (fixed text at a fixed rate, for load tests)",
    },
    # parameters
    "knobs.title": {"pt": "Parâmetros", "en": "Parameters"},
    "knobs.temperature": {"pt": "Temperatura", "en": "Temperature"},
    "knobs.top_p": {"pt": "Top-p", "en": "Top-p"},
    "knobs.top_k": {"pt": "Top-k (0 = desligado)", "en": "Top-k (0 = off)"},
    "knobs.max_tokens": {"pt": "Máximo de tokens novos", "en": "Max new tokens"},
    "knobs.seed": {"pt": "Semente (-1 = aleatória)", "en": "Seed (-1 = random)"},
    "knobs.max_switch_count": {"pt": "Máximo de trocas (0 = sem limite)", "en": "Max switch count (0 = no limit)"},
    "knobs.window": {"pt": "Janela explícita (passos)", "en": "Explicit dwell window (steps)"},
    "knobs.alpha0": {
        "pt": "α₀ (mistura rumo a <think> ao entrar no latente)",
        "en": "α₀ (blend toward <think> entering latent)",
    },
    # chat tab
    "chat.label": {"pt": "Conversa", "en": "Chat"},
    "chat.placeholder": {
        "pt": "Pergunte o que quiser; anexe ou cole imagens",
        "en": "Ask anything; attach or paste images",
    },
    "chat.stop": {"pt": "Parar", "en": "Stop"},
    "chat.new": {"pt": "Nova conversa", "en": "New chat"},
    "chat.share": {"pt": "Compartilhar", "en": "Share"},
    "chat.share_link": {"pt": "Link para compartilhar", "en": "Share link"},
    "chat.model": {"pt": "Modelo", "en": "Model"},
    "chat.reasoning": {"pt": "Raciocínio", "en": "Reasoning"},
    "chat.reasoning_info": {
        "pt": "O SwiReasoning alterna entre raciocínio explícito e latente",
        "en": "SwiReasoning switches between explicit and latent thinking",
    },
    "chat.random_note": {
        "pt": "⚠️ **{label}** tem pesos aleatórios: suas respostas são texto aleatório sem sentido, mostrado para "
        "testar o sistema.",
        "en": "⚠️ **{label}** has random weights: its answers are meaningless random text, shown to test the pipeline.",
    },
    "chat.down_note": {
        "pt": "⚠️ Este modelo está fora do ar agora: {detail}.",
        "en": "⚠️ This model is down right now: {detail}.",
    },
    "chat.down_choice": {"pt": "{label} — fora do ar", "en": "{label} — down"},
    "chat.nothing_to_share": {
        "pt": "Nada para compartilhar ainda: pergunte algo primeiro.",
        "en": "Nothing to share yet: ask something first.",
    },
    "chat.wait_to_share": {
        "pt": "Espere a resposta terminar (ou pare-a) e então compartilhe.",
        "en": "Wait for the answer to finish (or Stop it), then share.",
    },
    "mode.swireasoning": {"pt": "SwiReasoning", "en": "SwiReasoning"},
    "mode.thinking": {"pt": "raciocínio", "en": "thinking"},
    "mode.off": {"pt": "sem raciocínio", "en": "no thinking"},
    # compare tab
    "compare.preset": {"pt": "Predefinição", "en": "Preset"},
    "compare.two_models": {"pt": "Dois modelos", "en": "Two models"},
    "compare.swir_on_off": {"pt": "SwiReasoning ligado vs desligado", "en": "SwiReasoning on vs off"},
    "compare.side_a": {"pt": "Lado A", "en": "Side A"},
    "compare.side_b": {"pt": "Lado B", "en": "Side B"},
    "compare.reasoning_a": {"pt": "Raciocínio A", "en": "Reasoning A"},
    "compare.reasoning_b": {"pt": "Raciocínio B", "en": "Reasoning B"},
    "compare.placeholder": {
        "pt": "Um pedido, duas respostas lado a lado",
        "en": "One prompt, two answers side by side",
    },
    "compare.stop_a": {"pt": "Parar A", "en": "Stop A"},
    "compare.stop_b": {"pt": "Parar B", "en": "Stop B"},
    "compare.stop_both": {"pt": "Parar ambos", "en": "Stop both"},
    "compare.regenerate": {"pt": "Gerar de novo", "en": "Regenerate"},
    "compare.new": {"pt": "Nova comparação", "en": "New comparison"},
    "compare.nothing_to_regenerate": {
        "pt": "Nada para gerar de novo ainda (ou uma resposta ainda está em andamento).",
        "en": "Nothing to regenerate yet (or an answer is still running).",
    },
    "compare.nothing_to_share": {
        "pt": "Nada para compartilhar ainda: compare algo primeiro.",
        "en": "Nothing to share yet: compare something first.",
    },
    "compare.wait_to_share": {
        "pt": "Espere as duas respostas terminarem (ou pare-as) e então compartilhe.",
        "en": "Wait for both answers to finish (or Stop them), then share.",
    },
    # rendering of answers
    "render.thinking": {"pt": "Raciocínio", "en": "Thinking"},
    "render.latent_step": {"pt": "passo latente", "en": "latent step"},
    "render.switch_one": {"pt": "{n} troca", "en": "{n} switch"},
    "render.switch": {"pt": "{n} trocas", "en": "{n} switches"},
    "render.token_one": {"pt": "{n} token", "en": "{n} token"},
    "render.token": {"pt": "{n} tokens", "en": "{n} tokens"},
    "render.ttft": {"pt": "1º token em {ms:.0f} ms", "en": "TTFT {ms:.0f} ms"},
    "render.speed": {"pt": "{v:.1f} tokens/s", "en": "{v:.1f} tok/s"},
    "render.prompt": {"pt": "pedido {n}", "en": "prompt {n}"},
    "render.thinking_split": {
        "pt": "raciocínio {explicit} explícito + {latent} latente",
        "en": "thinking {explicit} explicit + {latent} latent",
    },
    "render.prefix_cache": {"pt": "cache de prefixo {cached}/{prompt}", "en": "prefix cache {cached}/{prompt}"},
    "render.retry_hint": {"pt": " Tentar de novo pode ajudar.", "en": " Retrying may help."},
    "render.queued_next": {"pt": "⏳ Na fila: você é o próximo.", "en": "⏳ Queued: next in line."},
    "render.queued": {"pt": "⏳ Na fila: {ahead} à sua frente{wait}.", "en": "⏳ Queued: {ahead} ahead of you{wait}."},
    "render.queue_wait": {"pt": " (cerca de {s:.0f} s)", "en": " (about {s:.0f} s)"},
    "render.starting": {"pt": "⏳ Começando…", "en": "⏳ Starting…"},
    "render.stopped": {"pt": "⏹ Parado.", "en": "⏹ Stopped."},
    "render.cut": {"pt": "✂️ Cortado no limite de tokens.", "en": "✂️ Cut at the token limit."},
    "render.fewer_thinking": {
        "pt": "{fewer} usou {pct:.0f}% menos tokens de raciocínio que {more}",
        "en": "{fewer} used {pct:.0f}% fewer thinking tokens than {more}",
    },
    "render.only_thought": {"pt": "só {thinker} raciocinou ({tokens})", "en": "only {thinker} thought ({tokens})"},
    "render.answered_first": {
        "pt": "{first} respondeu primeiro (1º token em {a:.0f} vs {b:.0f} ms)",
        "en": "{first} answered first (TTFT {a:.0f} vs {b:.0f} ms)",
    },
    "render.first_together": {
        "pt": "os dois deram o 1º token em {ms} ms",
        "en": "both gave their first token in {ms} ms",
    },
    "render.tokens_vs_one": {"pt": "{a} vs {b} token", "en": "{a} vs {b} token"},
    "render.tokens_vs": {"pt": "{a} vs {b} tokens", "en": "{a} vs {b} tokens"},
    # battle and leaderboard
    "battle.model_a": {"pt": "Modelo A", "en": "Model A"},
    "battle.model_b": {"pt": "Modelo B", "en": "Model B"},
    "battle.placeholder": {"pt": "Pergunte aos dois modelos ocultos", "en": "Ask both hidden models"},
    "battle.vote_a": {"pt": "👈 A é melhor", "en": "👈 A is better"},
    "battle.vote_b": {"pt": "👉 B é melhor", "en": "👉 B is better"},
    "battle.vote_tie": {"pt": "🤝 Empate", "en": "🤝 Tie"},
    "battle.vote_both_bad": {"pt": "👎 Ambos ruins", "en": "👎 Both bad"},
    "battle.new": {"pt": "Nova batalha", "en": "New battle"},
    "battle.hidden": {
        "pt": "Dois modelos foram sorteados; seus nomes aparecem depois do seu voto.",
        "en": "Two models were drawn at random; their names are shown after you vote.",
    },
    "battle.need_two": {
        "pt": "Batalhas precisam de pelo menos dois modelos.",
        "en": "Battles need at least two models.",
    },
    "battle.need_two_up": {
        "pt": "Batalhas precisam de pelo menos dois modelos no ar agora.",
        "en": "Battles need at least two models that are up right now.",
    },
    "battle.decided": {
        "pt": "Esta batalha está decidida; comece uma nova para perguntar de novo.",
        "en": "This battle is decided; start a new battle to ask again.",
    },
    "battle.ask_first": {
        "pt": "Pergunte algo e deixe os dois modelos responderem antes de votar.",
        "en": "Ask something and let both models answer before voting.",
    },
    "battle.wait_vote": {
        "pt": "Espere as duas respostas terminarem e então vote.",
        "en": "Wait for both answers to finish, then vote.",
    },
    "battle.reveal": {
        "pt": "Você votou **{vote}**. A era **{a}**, B era **{b}**. Comece uma nova batalha para outra.",
        "en": "You voted **{vote}**. A was **{a}**, B was **{b}**. Start a new battle for another.",
    },
    "board.about": {
        "pt": "As notas são um ajuste de Bradley-Terry na escala Elo (1000 = média) sobre todos os votos de batalhas "
        "às cegas; empates e *ambos ruins* contam meia vitória cada; os intervalos são de 95% por bootstrap "
        "(200 reamostragens).",
        "en": "Ratings are a Bradley-Terry fit on the Elo scale (1000 = average) over every blind-battle vote; "
        "ties and *both bad* count half a win each; intervals are 95% bootstrap intervals (200 resamples).",
    },
    "board.votes_one": {"pt": "{n} voto até agora.", "en": "{n} vote so far."},
    "board.votes": {"pt": "{n} votos até agora.", "en": "{n} votes so far."},
    "board.no_votes": {
        "pt": "Nenhum voto ainda: jogue uma batalha às cegas e vote para começar.",
        "en": "No votes yet: play a blind battle and vote to start it.",
    },
    "board.refresh": {"pt": "Atualizar", "en": "Refresh"},
    "board.model": {"pt": "Modelo", "en": "Model"},
    "board.rating": {"pt": "Nota", "en": "Rating"},
    "board.ci": {"pt": "IC 95%", "en": "95% CI"},
    "board.battles": {"pt": "Batalhas", "en": "Battles"},
    "board.win_rate": {"pt": "Taxa de vitória", "en": "Win rate"},
    # shared view
    "shared.open": {"pt": "Abrir uma conversa compartilhada", "en": "Open a shared conversation"},
    "shared.placeholder": {"pt": "cole o link ou o id e tecle Enter", "en": "paste its link or id, then Enter"},
    "shared.continue": {"pt": "Continuar esta conversa", "en": "Continue this chat"},
    "shared.kind_chat": {"pt": "Conversa com", "en": "Chat with"},
    "shared.kind_compare": {"pt": "Comparação de", "en": "Comparison of"},
    "shared.kind_battle": {"pt": "Batalha às cegas entre", "en": "Blind battle between"},
    "shared.vs": {"pt": " vs ", "en": " vs "},
    "shared.when": {"pt": "Compartilhada em {when}", "en": "Shared {when}"},
    "shared.voted": {"pt": " · quem votou escolheu: {vote}", "en": " · the voter called it {vote}"},
    "shared.read_only": {"pt": " · somente leitura", "en": " · read-only"},
    "shared.vote_a": {"pt": "A venceu", "en": "A won"},
    "shared.vote_b": {"pt": "B venceu", "en": "B won"},
    "shared.vote_tie": {"pt": "empate", "en": "a tie"},
    "shared.vote_both_bad": {"pt": "ambos ruins", "en": "both bad"},
    # where data lives (footer)
    "storage.redis": {
        "pt": "Os links compartilhados ficam no Redis desta instalação.",
        "en": "Share links are kept in this deployment's Redis.",
    },
    "storage.persistent": {
        "pt": "Os links compartilhados ficam no armazenamento persistente deste Space e sobrevivem a reinícios.",
        "en": "Share links are kept on this Space's persistent storage and survive restarts.",
    },
    "storage.ephemeral": {
        "pt": "Este Space não tem armazenamento persistente: os links compartilhados se perdem quando ele reinicia.",
        "en": "This Space has no persistent storage: share links are lost when it restarts.",
    },
    "storage.local": {
        "pt": "Os links compartilhados ficam em `{path}` nesta máquina.",
        "en": "Share links are kept under `{path}` on this machine.",
    },
    # examples (an empty chat's clickable prompts; the pictures are drawn by demo/example_images.py)
    "example.chart": {
        "pt": "Em que meses chove mais no Rio, segundo este gráfico? Quanto chove no mês mais seco?",
        "en": "In which months does it rain most in Rio, according to this chart? How much in the driest month?",
    },
    "example.receipt": {
        "pt": "Confira esta nota fiscal: o total está certo? Se não, qual deveria ser?",
        "en": "Check this receipt: is the total right? If not, what should it be?",
    },
    "example.diagram": {
        "pt": "Explique o que este diagrama mostra, caixa por caixa, e o que as setas de volta carregam.",
        "en": "Explain what this diagram shows, box by box, and what the arrows going back carry.",
    },
    "example.map": {
        "pt": "Neste mapa, como eu ando de A até B passando pelo parque? Descreva o caminho.",
        "en": "On this map, how do I walk from A to B through the park? Describe the route.",
    },
    "example.math": {
        "pt": "Quantos números inteiros de 1 a 1000 não são divisíveis por 2, 3 nem 5?",
        "en": "How many whole numbers from 1 to 1000 are divisible by none of 2, 3 and 5?",
    },
    "example.logic": {
        "pt": "Ana, Bia e Caio usam chapéus: um azul, um verde, um branco. Ana não usa azul; quem usa verde senta "
        "entre Bia e Caio; Caio não usa branco. Quem usa cada cor?",
        "en": "Ana, Bia and Caio wear hats: one blue, one green, one white. Ana does not wear blue; whoever wears "
        "green sits between Bia and Caio; Caio does not wear white. Who wears which colour?",
    },
    "example.rio": {
        "pt": "Planeje um domingo no Rio para uma família com duas crianças, sem carro e com pouco dinheiro.",
        "en": "Plan a Sunday in Rio for a family with two children, no car and little money.",
    },
    "example.swir_note": {"pt": "SwiReasoning ligado vs desligado", "en": "SwiReasoning on vs off"},
    # the data-use notice (first visit; the footer's link opens it again)
    "notice.title": {"pt": "### Como usamos seus dados", "en": "### How we use your data"},
    "notice.body": {
        "pt": "Este é um serviço público de demonstração da Prefeitura do Rio de Janeiro.\n\n"
        "- **Suas mensagens e imagens** passam por uma fila (Redis) até os servidores do modelo. As imagens ficam "
        "guardadas por {image_h:g} h, para que perguntas seguintes possam vê-las; o texto de cada resposta fica por "
        "{stream_h:g} h depois do fim, para que a página possa mostrá-la de novo se você recarregar.\n"
        "- **Seu endereço IP** (ou sua conta, se você entrar) serve só para aplicar limites de uso justos, em "
        "contadores que expiram em minutos ou horas.\n"
        "- **Links compartilhados são públicos e permanentes**: qualquer pessoa com o link vê a conversa, com as "
        "imagens e os parâmetros, e ele não pode ser apagado.\n"
        "- **Votos de batalhas e avaliações de respostas** são guardados sem prazo e podem ser publicados como "
        "um conjunto de dados aberto, para melhorar modelos.\n\n"
        "Não envie dados pessoais ou sensíveis (LGPD).",
        "en": "This is a public demonstration service of the City of Rio de Janeiro.\n\n"
        "- **Your messages and images** go through a queue (Redis) to the model's servers. Images are kept for "
        "{image_h:g} h, so that follow-up questions can see them; each answer's text for {stream_h:g} h after it ends, "
        "so the page can show it again if you reload.\n"
        "- **Your IP address** (or your account, if you sign in) is used only to apply fair-use limits, in "
        "counters that expire within minutes or hours.\n"
        "- **Share links are public and permanent**: anyone with the link sees the conversation, with its images "
        "and parameters, and it cannot be deleted.\n"
        "- **Battle votes and answer ratings** are kept with no expiry and may be published as an open data set, "
        "to improve models.\n\n"
        "Do not send personal or sensitive data (LGPD).",
    },
    "notice.accept": {"pt": "Entendi", "en": "I understand"},
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
