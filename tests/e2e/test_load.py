"""Load: 64 concurrent compare sessions (128 streams) through the real web app, Celery and the paced backend.

Every stream must complete with exactly the text the backend produced (nothing lost, nothing doubled),
and every intermediate rendering must be a prefix of the final one. Latency figures go to
test-artifacts/load.txt (p50/p99 time to first token on the page; the paced backend's own is ~0)."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from gradio_client import Client

from tests.conftest import ARTIFACTS
from tests.support.helpers import DEFAULTS, last_answer, value
from worker.backends.paced import WORDS

SESSIONS = 64
TOKENS = 40
EXPECTED = "".join(WORDS[i % len(WORDS)] + " " for i in range(TOKENS))


def one_session(url: str, n: int) -> dict:
    # 64 clients fetch the page's config at once on the same 2 cores as the web: their setup, not the
    # streams under test, can outlast gradio_client's default 20 s
    client = Client(url, verbose=False, headers={"X-Forwarded-For": f"10.9.{n // 200}.{n % 200}"},
                    httpx_kwargs={"timeout": 120})  # fmt: skip
    knobs = {**{k: v for k, v in DEFAULTS.items() if k not in ("model", "reasoning")}, "max_tokens": TOKENS}
    t0 = time.monotonic()
    sides = {"model_a": "paced", "reasoning_a": "off", "model_b": "paced", "reasoning_b": "off"}
    job = client.submit({"text": f"load {n}", "files": []}, **sides, **knobs, api_name="/compare")
    first: float | None = None
    seen: list[tuple[str, str]] = []
    for out in job:
        a, b = last_answer(value(out[0])).answer, last_answer(value(out[1])).answer
        if first is None and (a or b):
            first = time.monotonic() - t0
        seen.append((a, b))
    final = job.result()
    fa, fb = last_answer(value(final[0])), last_answer(value(final[1]))
    return {"first": first, "total": time.monotonic() - t0, "final": (fa.answer, fb.answer),
            "footers": (fa.footer, fb.footer), "seen": seen}  # fmt: skip


def test_64_compare_sessions_complete_with_nothing_lost_or_doubled(web):
    with ThreadPoolExecutor(SESSIONS) as pool:
        results = list(pool.map(lambda n: one_session(web, n), range(SESSIONS)))
    for r in results:
        assert r["final"] == (EXPECTED, EXPECTED), r["footers"]
        for a, b in r["seen"]:
            assert EXPECTED.startswith(a) and EXPECTED.startswith(b), "an update showed text the stream never had"
    firsts = sorted(r["first"] for r in results)
    totals = sorted(r["total"] for r in results)
    p99 = firsts[int(0.99 * (len(firsts) - 1))]
    report = (
        f"| sessions | streams | first token p50 | first token p99 | session p50 | session p99 | ideal |\n"
        f"|---|---|---|---|---|---|---|\n"
        f"| {SESSIONS} | {2 * SESSIONS} | {statistics.median(firsts) * 1000:.0f} ms | {p99 * 1000:.0f} ms | "
        f"{statistics.median(totals):.2f} s | {totals[int(0.99 * (len(totals) - 1))]:.2f} s | "
        f"{TOKENS * 0.01:.2f} s |\n"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load.txt").write_text(report)
    print("\n" + report)
