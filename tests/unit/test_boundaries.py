"""The package map of ARCHITECTURE.md: who may import whom."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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


def module_imports(package: str) -> dict[str, set[str]]:
    """Each module of `package` -> the modules of the project it imports at its top level."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        names: set[str] = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == package:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names if a.name.split(".")[0] == package)
        found[module] = names
    return found


def test_worker_has_no_import_circle():
    graph = module_imports("worker")

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        for nxt in graph.get(module, ()):
            visit(nxt, (*path, module))

    for module in graph:
        visit(module, ())


def test_the_facade_is_the_webs_contract_and_imports_no_engine():
    """`worker.jobs.__all__` names everything demo/ takes from it, and importing it in a fresh process
    builds no Celery app and loads no backend, torch or transformers."""
    import worker.jobs

    used = {a.name for names in imports_from("demo", "worker.jobs") for a in names}
    assert used <= set(worker.jobs.__all__), used - set(worker.jobs.__all__)
    code = ("import sys, worker.jobs; bad = [m for m in ('torch', 'transformers', 'worker.queue.tasks', "
            "'worker.backends.local', 'worker.backends.sglang') if m in sys.modules]; assert not bad, bad")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def imports_from(package: str, module: str) -> list[list[ast.alias]]:
    return [node.names for path in (ROOT / package).rglob("*.py") for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module == module]  # fmt: skip
