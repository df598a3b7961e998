"""Strings of answer feedback, the reasoning timeline, edit/retry."""

STRINGS: dict[str, dict[str, str]] = {
    # feedback on an answer
    "feedback.title": {
        "pt": "O que achou desta resposta? (opcional)",
        "en": "What did you think of this answer? (optional)",
    },
    "feedback.reason": {"pt": "Motivo", "en": "Reason"},
    "feedback.comment": {"pt": "Comentário", "en": "Comment"},
    "feedback.comment_hint": {"pt": "Conte mais, se quiser", "en": "Tell us more, if you like"},
    "feedback.send": {"pt": "Enviar avaliação", "en": "Send feedback"},
    "feedback.reason.correct": {"pt": "Correta", "en": "Correct"},
    "feedback.reason.helpful": {"pt": "Útil", "en": "Helpful"},
    "feedback.reason.well_reasoned": {"pt": "Bem raciocinada", "en": "Well reasoned"},
    "feedback.reason.wrong": {"pt": "Errada", "en": "Wrong"},
    "feedback.reason.unhelpful": {"pt": "Pouco útil", "en": "Unhelpful"},
    "feedback.reason.unsafe": {"pt": "Inadequada ou insegura", "en": "Inappropriate or unsafe"},
    "feedback.reason.bad_language": {"pt": "Português ou inglês ruim", "en": "Poor Portuguese or English"},
    "feedback.reason.other": {"pt": "Outro", "en": "Other"},
    "feedback.thanks.up": {"pt": "👍 Obrigado! Avaliação guardada.", "en": "👍 Thank you! Rating kept."},
    "feedback.thanks.down": {"pt": "👎 Obrigado! Avaliação guardada.", "en": "👎 Thank you! Rating kept."},
    "feedback.thanks.details": {
        "pt": "Obrigado! Motivo e comentário guardados.",
        "en": "Thank you! Reason and comment kept.",
    },
    "feedback.removed": {"pt": "Avaliação retirada.", "en": "Rating taken back."},
    "feedback.not_an_answer": {
        "pt": "Só respostas terminadas podem ser avaliadas.",
        "en": "Only finished answers can be rated.",
    },
    "feedback.nothing_to_send": {
        "pt": "Avalie uma resposta com 👍 ou 👎 primeiro.",
        "en": "Rate an answer with 👍 or 👎 first.",
    },
    "feedback.refused.feedback_over_budget": {
        "pt": "Você já avaliou {limit} respostas nesta hora, o limite por visitante. Tente de novo mais tarde.",
        "en": "You have rated {limit} answers this hour, the limit per visitor. Try again later.",
    },
    "feedback.refused.feedback_too_long": {
        "pt": "O comentário tem {length} caracteres; cabem no máximo {limit}.",
        "en": "The comment has {length} characters; it holds at most {limit}.",
    },
    "feedback.refused.store_full": {
        "pt": "O armazenamento do demo está cheio agora; a avaliação não foi guardada. Tente mais tarde.",
        "en": "The demo's storage is full right now; the rating was not kept. Please try again later.",
    },
    "feedback.refused.service_unavailable": {
        "pt": "O serviço está indisponível agora; a avaliação não foi guardada. Tente de novo em instantes.",
        "en": "The service is unavailable right now; the rating was not kept. Try again shortly.",
    },
    # the reasoning timeline under an answer
    "timeline.explicit": {"pt": "explícito", "en": "explicit"},
    "timeline.latent": {"pt": "latente", "en": "latent"},
    "timeline.answer": {"pt": "resposta", "en": "answer"},
    "timeline.summary": {
        "pt": "Raciocínio: {explicit} tokens explícitos e {latent} latentes, em {stretches} trechos "
        "({switches} mudanças entre explícito e latente); depois a resposta, {answer} tokens.",
        "en": "Reasoning: {explicit} explicit and {latent} latent tokens, in {stretches} stretches "
        "({switches} changes between explicit and latent); then the answer, {answer} tokens.",
    },
    "timeline.no_thinking": {
        "pt": "Sem raciocínio: {answer} tokens de resposta.",
        "en": "No reasoning: {answer} answer tokens.",
    },
    "timeline.compare": {
        "pt": "Raciocínio lado a lado — {a}: {ta} tokens em {sa} s · {b}: {tb} tokens em {sb} s.",
        "en": "Thinking side by side — {a}: {ta} tokens in {sa} s · {b}: {tb} tokens in {sb} s.",
    },
    # edit, retry, undo in chat
    "chat.retry_running": {
        "pt": "A resposta anterior foi interrompida; esta é uma nova.",
        "en": "The previous answer was stopped; this is a new one.",
    },
    "chat.edit_not_user": {
        "pt": "Só as suas mensagens podem ser editadas.",
        "en": "Only your own messages can be edited.",
    },
}
