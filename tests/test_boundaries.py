"""The package map of DESIGN.md: who may import whom."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_demo_reaches_worker_only_through_worker_jobs():
    for path, names in imports("demo").items():
        bad = {n for n in names if n.startswith("worker") and n != "worker.jobs"}
        assert not bad, f"{path} imports {bad}"
        assert not {n for n in names if n.split(".")[0] in ("celery", "torch", "transformers", "swireasoning")}


def test_only_demo_imports_gradio_and_only_worker_imports_celery():
    for package in ("worker", "swireasoning"):
        for path, names in imports(package).items():
            assert not any(n.split(".")[0] == "gradio" for n in names), path
    for path, names in imports("swireasoning").items():
        assert not any(n.split(".")[0] in ("celery", "redis", "worker", "demo") for n in names), path
