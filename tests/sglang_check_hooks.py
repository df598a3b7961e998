"""Check the SwiReasoning plugin's hook targets against the installed sglang 0.5.23 (runs in `.venv-sglang`).

Each dotted target must name a function or method defined in that package's source, whose
parameters start with the names the hook relies on. Targets are resolved by reading the package's
source (AST), not by importing it: the model and scheduler modules import torchvision and CUDA-only
kernels that cannot be installed next to CPU torch. Then `register()` runs against SGLang's real
`HookRegistry`, which must hold exactly those targets with those hook types.

    PYTHONPATH=. .venv-sglang/bin/python tests/sglang_check_hooks.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import sglang
from sglang.srt.plugins.hook_registry import HookRegistry, HookType

from swireasoning.sglang_plugin import HOOKS, register

PACKAGE = Path(sglang.__file__).parent


def find(target: str) -> list[str]:
    """Parameter names of the function or method at `target`, from the package's source."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        path = PACKAGE.parent.joinpath(*parts[:cut]).with_suffix(".py")
        if path.exists():
            break
    else:
        raise LookupError(f"{target}: no module file")
    scope: list[ast.stmt] = ast.parse(path.read_text()).body
    node: ast.AST | None = None
    for name in parts[cut:]:
        node = next((n for n in scope if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                     and n.name == name), None)  # fmt: skip
        if node is None:
            raise LookupError(f"{target}: {name} not found in {path.relative_to(PACKAGE.parent)}")
        scope = getattr(node, "body", [])
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        raise LookupError(f"{target}: not a function")
    args = node.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def main() -> int:
    failures = 0
    for target, kind, expected in HOOKS:
        try:
            params = find(target)
            if tuple(params[: len(expected)]) != expected:
                raise LookupError(f"{target}: parameters {params[: len(expected)]} != {list(expected)}")
            print(f"ok {kind:6} {target}({', '.join(params)})")
        except LookupError as exc:
            failures += 1
            print(f"FAIL {exc}")
    register()
    registered = {t: [ht for ht, _, _ in hooks] for t, hooks in HookRegistry._hooks.items()}
    for target, kind, _ in HOOKS:
        if registered.get(target) != [HookType(kind)]:
            failures += 1
            print(f"FAIL {target}: registered as {registered.get(target)}")
    print(f"{len(HOOKS) - failures} of {len(HOOKS)} hook targets resolve" if failures else f"all {len(HOOKS)} ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
