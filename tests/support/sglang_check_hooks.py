"""Check the SwiReasoning plugin's hook targets against the installed sglang 0.5.23 (runs in `.venv-sglang`).

Each dotted target is imported from the real package (tests/support/sglang_cpu.py makes its modules import
on a CPU machine) and must be a function whose parameters start with the names the hook relies on.
Then `register()` runs against SGLang's real `HookRegistry`, which must hold exactly those targets
with those hook types, and `HookRegistry.apply_hooks()` must wrap every one of them.

    PYTHONPATH=. .venv-sglang/bin/python tests/support/sglang_check_hooks.py
"""

from __future__ import annotations

import inspect
import pkgutil
import sys

from tests.support import sglang_cpu

sglang_cpu.install()

from sglang.srt.plugins.hook_registry import HookRegistry, HookType  # noqa: E402

from swireasoning.sglang_plugin import HOOKS, register  # noqa: E402


def parameters(target: str) -> list[str]:
    fn = pkgutil.resolve_name(target)
    if not inspect.isfunction(fn):
        raise LookupError(f"{target}: not a function ({type(fn).__name__})")
    return list(inspect.signature(fn).parameters)


def main() -> int:
    failures = 0
    originals = {}
    for target, kind, expected in HOOKS:
        try:
            params = parameters(target)
            if tuple(params[: len(expected)]) != expected:
                raise LookupError(f"{target}: parameters {params[: len(expected)]} != {list(expected)}")
            originals[target] = pkgutil.resolve_name(target)
            print(f"ok {kind:6} {target}({', '.join(params)})")
        except (LookupError, ImportError, AttributeError) as exc:
            failures += 1
            print(f"FAIL {exc}")
    register()
    registered = {t: [ht for ht, _, _ in hooks] for t, hooks in HookRegistry._hooks.items()}
    HookRegistry.apply_hooks()
    for target, kind, _ in HOOKS:
        if registered.get(target) != [HookType(kind)]:
            failures += 1
            print(f"FAIL {target}: registered as {registered.get(target)}")
        elif getattr(pkgutil.resolve_name(target), "__wrapped__", None) is not originals.get(target):
            failures += 1
            print(f"FAIL {target}: not wrapped by apply_hooks")
    print(f"{len(HOOKS) - failures} of {len(HOOKS)} hook targets resolve" if failures else f"all {len(HOOKS)} ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
