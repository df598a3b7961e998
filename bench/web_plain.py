"""`bench.web`'s yardstick: a plain Gradio app streaming the paced text into a `gr.Chatbot`.

    python -m bench.web_plain PORT

The same words at the same token rate and the same page-update cadence as the demo under the same
load (both given per request), with Gradio's crowd settings (no concurrency limit, a large queue and
job cap). No Redis, no Celery: what Gradio alone costs per streamed update.
"""

from __future__ import annotations

import asyncio
import sys
import time

import gradio as gr

from worker.backends.paced import WORDS


async def chat(prompt: str, tokens: float, interval_s: float, cadence_s: float):
    history = [{"role": "user", "content": prompt}, {"role": "assistant", "content": ""}]
    t0 = last = time.monotonic()
    text = ""
    for i in range(int(tokens)):
        await asyncio.sleep(max(0.0, t0 + i * interval_s - time.monotonic()))
        text += WORDS[i % len(WORDS)] + " "
        if time.monotonic() - last >= cadence_s or i == 0:
            last = time.monotonic()
            history[1] = {"role": "assistant", "content": text}
            yield history
    history[1] = {"role": "assistant", "content": text}
    yield history


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        chatbot = gr.Chatbot()
        prompt = gr.Textbox()
        tokens, interval, cadence = gr.Number(100), gr.Number(0.05), gr.Number(0.05)
        prompt.submit(chat, [prompt, tokens, interval, cadence], [chatbot], api_name="chat", concurrency_limit=None)
    return demo


def main() -> None:
    demo = build()
    demo.queue(default_concurrency_limit=None, max_size=4096)
    demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), max_threads=4096)


if __name__ == "__main__":
    main()
