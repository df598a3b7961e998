"""The Portuguese of every sentence `worker/` can send (`worker.sentences`, whose English is the source).

`error.<key>` and `word.<key>` entries of the catalog are built here: English from `worker.sentences`,
Portuguese below; the catalog test checks both have every key with the same parameters.
"""

from __future__ import annotations

from worker.jobs import SENTENCES, WORDS

SENTENCES_PT: dict[str, str] = {
    "internal": "Algo deu errado do nosso lado com esta resposta.",
    "server_internal": "O servidor do modelo teve um erro interno.",
    "no_result": "A resposta terminou sem resultado.",
    "queue_timeout": "A fila estava longa demais e este pedido expirou. Tente de novo.",
    "service_unavailable": "O serviço está indisponível agora (fila inacessível). Sua conversa foi mantida; "
    "tente de novo em instantes.",
    "worker_lost": "O processo que gerava esta resposta parou; ela não foi refeita. Nada acima se perdeu: "
    "tente de novo.",
    "store_full_upload": "O armazenamento da demonstração está cheio agora, por isso não aceita imagens. Conversas "
    "sem imagens novas continuam funcionando, e os links compartilhados existentes continuam abrindo; tente "
    "mais tarde.",
    "store_full_share": "O armazenamento da demonstração está cheio agora, por isso não cria novos links de "
    "compartilhamento. Conversas sem imagens novas continuam funcionando, e os links existentes continuam "
    "abrindo; tente mais tarde.",
    "feedback_too_long": "Este comentário tem {length} caracteres; um comentário tem no máximo {limit}.",
    "vote_once": "Esta batalha já tem seu voto: comece uma nova batalha para votar de novo.",
    "vote_hourly_one": "Você já deu {limit} voto nesta hora, o limite por visitante.",
    "vote_hourly": "Você já deu {limit} votos nesta hora, o limite por visitante.",
    "store_full_feedback": "O armazenamento da demonstração está cheio agora, por isso não aceita avaliações. "
    "Conversas sem imagens novas continuam funcionando, e os links compartilhados existentes continuam abrindo; "
    "tente mais tarde.",
    "feedback_budget_one": "Você avaliou {limit} resposta nesta hora, o limite por visitante. Tente de novo em "
    "{wait} {unit_word}.",
    "feedback_budget": "Você avaliou {limit} respostas nesta hora, o limite por visitante. Tente de novo em "
    "{wait} {unit_word}.",
    "store_full": "O armazenamento da demonstração está cheio agora, por isso não pode guardar isto. Tente mais tarde.",
    "image_budget": "Você enviou {mb} MB de imagens nesta hora, o limite por visitante. Tente de novo em {wait} "
    "{unit_word}, ou envie a mensagem sem imagens.",
    "share_budget_one": "Você criou {limit} link de compartilhamento nesta hora, o limite por visitante. Tente de "
    "novo em {wait} {unit_word}.",
    "share_budget": "Você criou {limit} links de compartilhamento nesta hora, o limite por visitante. Tente de novo "
    "em {wait} {unit_word}.",
    "queue_full_one": "Este modelo está ocupado ({waiting} pedido esperando). Tente de novo em {again} s.",
    "queue_full": "Este modelo está ocupado ({waiting} pedidos esperando). Tente de novo em {again} s.",
    "rate_limited": "Pedidos demais: o limite é {limit} por minuto. Tente de novo em {wait} s.",
    "jobs_running_one": "Você já tem {running} resposta em andamento (limite {limit}). Espere uma terminar ou "
    "pare-a, e tente de novo.",
    "jobs_running": "Você já tem {running} respostas em andamento (limite {limit}). Espere uma terminar ou pare-a, "
    "e tente de novo.",
    "unknown_model": "Modelo desconhecido '{key}'.",
    "model_not_served": "{label} não é servido por esta demonstração.",
    "model_not_configured": "{label} não está configurado neste servidor.",
    "backend_not_available": "{label}: o backend '{backend}' ainda não está disponível.",
    "model_down": "Este modelo está fora do ar agora ({detail}). Tente outro modelo ou de novo em breve.",
    "backend_unreachable": "{label} está inacessível agora. Tente de novo em instantes.",
    "backend_timeout": "{label} não respondeu a tempo. Tente de novo.",
    "backend_dropped": "{label} fechou a conexão no meio da resposta. Tente de novo.",
    "backend_incomplete": "{label} terminou a resposta antes de completá-la. Tente de novo.",
    "backend_reported": "{label} informou um erro durante a resposta. Tente de novo.",
    "backend_unreadable": "{label} enviou uma resposta que não conseguimos ler.",
    "backend_credentials": "{label}: o servidor do modelo recusou nossas credenciais.",
    "backend_busy": "{label} está ocupado ou iniciando (HTTP {status}). Tente de novo daqui a pouco.",
    "backend_failed": "{label} falhou (HTTP {status}). Tente de novo.",
    "backend_rejected": "{label} recusou o pedido (HTTP {status}).",
    "backend_rejected_detail": "{label} recusou o pedido (HTTP {status}): {detail}.",
    "prompt_too_long_tokens": "A conversa tem {tokens} tokens; este modelo aceita {limit}.",
    "no_images_accepted": "Este modelo não aceita imagens.",
    "image_processor": "O processador de imagens do modelo não aceita uma imagem desta mensagem ({detail}).",
    "image_count_mismatch": "O modelo de conversa posicionou um número de imagens diferente do anexado.",
    "prompt_nul": "A mensagem contém um caractere NUL; remova-o e envie de novo.",
    "prompt_empty": "Digite uma mensagem ou anexe uma imagem.",
    "prompt_too_long": "A mensagem tem {chars:,} caracteres; o limite é {limit:,}.",
    "too_many_images": "{count} imagens anexadas; o limite é {limit} por mensagem.",
    "payload_too_large": "As imagens somam {mb:.1f} MB; o limite é {limit:.0f} MB por mensagem.",
    "max_tokens_here": "O máximo de tokens novos aqui é {limit}.",
    "field_at_most": "{field_word} deve ser no máximo {bound}.",
    "field_below": "{field_word} deve ser menor que {bound}.",
    "field_at_least": "{field_word} deve ser no mínimo {bound}.",
    "field_above": "{field_word} deve ser maior que {bound}.",
    "field_invalid": "{field_word}: {detail}.",
    "image_too_large": "A imagem tem {mb:.1f} MB; o limite é {limit} MB.",
    "image_type": "Tipo de imagem não aceito: {format}; use PNG, JPEG, GIF, WEBP, BMP ou TIFF.",
    "image_pixels": "A imagem tem {width}×{height} pixels; o limite é {limit:.0f} megapixels.",
    "image_bomb": "Imagem recusada: ela se expande para muito mais pixels do que declara.",
    "image_unreadable": "Esse arquivo não é uma imagem legível (pode estar corrompido ou incompleto).",
    "image_detail": "Esta imagem tem detalhe demais para caber em {limit:.0f} MB; envie uma menor.",
    "image_stored_unreadable": "Uma imagem desta conversa não pode ser lida; anexe-a de novo.",
    "image_expired": "Uma imagem desta conversa expirou; anexe-a de novo.",
    "image_ratio": "Esta imagem tem {width}×{height} pixels: o lado maior é {ratio:,.0f} vezes o menor, e o modelo "
    "aceita no máximo {max_ratio:g} para 1. Recorte-a ou envie-a em partes.",
    "image_too_small": "Esta imagem tem {width}×{height} pixels, menos que um bloco de {patch}×{patch} que o modelo "
    "enxerga. Envie uma imagem maior.",
    "share_image_expired": "Uma imagem desta conversa expirou, por isso ela não pode ser compartilhada.",
    "share_too_large_turns": "Esta conversa é grande demais para compartilhar: tem {turns} turnos e uma conversa "
    "compartilhada guarda no máximo {limit}. Comece uma nova para compartilhar.",
    "share_too_large_images": "Esta conversa é grande demais para compartilhar: tem {images} imagens e um "
    "compartilhamento guarda no máximo {limit}. Comece uma nova para compartilhar.",
    "share_too_large_bytes": "Esta conversa é grande demais para compartilhar: ocupa {mb:.1f} MB e um "
    "compartilhamento guarda no máximo {limit} MB. Comece uma nova para compartilhar.",
    "share_malformed": "Esse link de compartilhamento está malformado: confira se foi copiado inteiro.",
    "share_unknown": "Nenhuma conversa compartilhada tem esse link (talvez tenha sido digitado errado).",
    "share_unreadable": "Essa conversa compartilhada está num formato que esta versão não lê.",
    "share_image_missing": "Falta uma imagem desta conversa compartilhada.",
}

WORDS_PT: dict[str, str] = {
    "s": "s",
    "minutes": "minutos",
    "field.request": "O pedido",
    "field.temperature": "Temperatura",
    "field.top_p": "Top-p",
    "field.top_k": "Top-k",
    "field.min_p": "Min-p",
    "field.max_tokens": "Máximo de tokens novos",
    "field.seed": "Semente",
    "field.alpha0": "α₀",
    "field.beta0": "β₀",
    "field.window": "Janela explícita",
    "field.max_switch_count": "Máximo de trocas",
    "field.mixture_top_k": "Top-k da mistura",
    "field.mode": "Modo de raciocínio",
    "field.model": "Modelo",
    "field.messages": "Mensagens",
    "field.id": "Id do pedido",
    "field.ref": "Referência de imagem",
}

STRINGS: dict[str, dict[str, str]] = {
    **{f"error.{k}": {"pt": SENTENCES_PT.get(k, ""), "en": en} for k, en in SENTENCES.items()},
    **{f"word.{k}": {"pt": WORDS_PT.get(k, ""), "en": en} for k, en in WORDS.items()},
}
