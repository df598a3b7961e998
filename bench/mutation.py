"""Mutation testing as a measure of the suite: mutmut on the modules where a silent change costs most,
each against the fast (unit) tests that cover it, one module at a time.

    python -m bench.mutation                          # every module below (slow: tens of minutes on 2 cores)
    python -m bench.mutation worker/limits/budgets.py # one module
    python -m bench.mutation --show                   # also print each survivor's diff

Each module runs in its own scratch copy (`var/mutation/<module>/`), so mutmut's `mutants/` folder and
its config never touch the worktree, and a rerun resumes from mutmut's cached results. Prints killed /
survived per module and lists the survivors; `bench/mutation_equivalent.md` explains the survivors that
cannot change behaviour. Not part of CI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "var" / "mutation"
UNIT = "tests/unit"
SWIR_TESTS = [
    f"{UNIT}/swireasoning/test_swireasoning_rules.py",
    f"{UNIT}/swireasoning/test_swireasoning_equivalence.py",
]
# the in-process tests of the batched (SGLang plugin) mixture and of `member`; the rest of that file runs
# the Triton kernels in `.venv-sglang`, out of mutmut's reach (it only sees this interpreter)
FUSED_EAGER = [f"{UNIT}/swireasoning/test_swireasoning_fused.py::{name}" for name in (
    "test_one_batched_mixture_equals_the_per_row_mixtures_summed_over_ranks",
    "test_member_is_isin_without_its_sorting_path",
)]  # fmt: skip
# the tests of e2e/test_vision.py that start nothing (the processor's own rules, checked against transformers)
VISION = [f"tests/e2e/test_vision.py::{name}" for name in (
    "test_smart_resize_is_the_processors_own", "test_the_ratio_limit_is_exactly_the_processors",
    "test_what_the_processor_refuses_is_refused_at_intake_with_its_sentence",
    "test_small_images_and_screenshots_stay_lossless",
)]  # fmt: skip
# module -> the fast tests that cover it (no web, no Celery worker)
TARGETS: dict[str, list[str]] = {
    "worker/intake/validation.py": [f"{UNIT}/worker/test_bad_input.py", f"{UNIT}/worker/test_validation.py"],
    "worker/limits/admission.py": [f"{UNIT}/worker/test_limits_redis.py"],
    "worker/limits/budgets.py": [f"{UNIT}/worker/test_limits_redis.py"],
    "worker/intake/images.py": [
        f"{UNIT}/worker/test_images.py",
        f"{UNIT}/worker/test_image_steps.py",
        f"{UNIT}/worker/test_bad_input.py",
        *VISION,
    ],
    "worker/intake/vision.py": [f"{UNIT}/worker/test_images.py", *VISION],
    "swireasoning/controller.py": [*SWIR_TESTS, *FUSED_EAGER],
    "swireasoning/mixture.py": [*SWIR_TESTS, *FUSED_EAGER, f"{UNIT}/swireasoning/test_mixture.py"],
    "demo/battle.py": [f"{UNIT}/demo/test_leaderboard.py"],
}
COPIED = ["demo", "worker", "swireasoning", "tests", "pyproject.toml"]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "test-artifacts")


def scratch_dir(module: str, tests: list[str]) -> Path:
    """A fresh copy of the sources and tests, with a setup.cfg that mutates only `module`."""
    where = SCRATCH / module.replace("/", "_").removesuffix(".py")
    for name in COPIED:
        src, dst = ROOT / name, where / name
        if dst.exists():
            shutil.rmtree(dst) if dst.is_dir() else dst.unlink()
        shutil.copytree(src, dst, ignore=IGNORED) if src.is_dir() else shutil.copy2(src, dst)
    (where / "var" / "models").mkdir(parents=True, exist_ok=True)
    model = ROOT / "var" / "models" / "tiny-random"  # the cached tiny model, so no test rebuilds it
    if model.exists() and not (where / "var" / "models" / "tiny-random").exists():
        (where / "var" / "models" / "tiny-random").symlink_to(model)
    selection = "\n    ".join([*tests, "-p", "no:warnings", "-p", "no:cacheprovider", "-x"])
    (where / "setup.cfg").write_text(
        "[mutmut]\nsource_paths =\n    demo\n    worker\n    swireasoning\n"
        f"only_mutate =\n    {module}\npytest_add_cli_args_test_selection =\n    {selection}\n"
        "also_copy =\n    var\n"
    )
    return where


# mutmut forks one child per mutant from a process that has run the tests: a thread pool alive at the fork
# (torch's OpenMP one, the tokenizers' Rust one) leaves the child waiting on a lock no thread will release,
# and the mutant is reported as a timeout (killed) without any test having judged it
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def mutmut(where: Path, *args: str) -> str:
    cmd = [sys.executable, "-m", "mutmut", *args]
    env = {**os.environ, **SINGLE_THREADED}
    return subprocess.run(cmd, cwd=where, capture_output=True, text=True, check=False, env=env).stdout


def run_module(module: str, show: bool) -> Counter[str]:
    where = scratch_dir(module, TARGETS[module])
    mutmut(where, "run", "--max-children", "1")
    statuses: Counter[str] = Counter()
    survivors = []
    for line in mutmut(where, "results", "--all", "true").splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            statuses[status] += 1
            if status not in ("killed", "timeout"):
                survivors.append((name, status))
    print(f"{module}: {statuses['killed'] + statuses['timeout']} killed, {len(survivors)} not ({dict(statuses)})")
    for name, status in survivors:
        print(f"    {status}: {name}")
        if show:
            print("\n".join("        " + x for x in mutmut(where, "show", name).splitlines()[1:]))
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(TARGETS), help="modules to mutate (default: all)")
    parser.add_argument("--show", action="store_true", help="print each survivor's diff")
    args = parser.parse_args()
    total: Counter[str] = Counter()
    for module in args.modules:
        total += run_module(module, args.show)
    print(f"all: {dict(total)}")


if __name__ == "__main__":
    main()
