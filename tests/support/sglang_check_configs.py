"""Parse each YAML in sglang_config/ with SGLang's own config merger and its real argument parser.

Runs in `.venv-sglang`. Exits non-zero, naming the file, on an unknown or misspelled flag.

    .venv-sglang/bin/python tests/support/sglang_check_configs.py sglang_config/*.yaml
"""

from __future__ import annotations

import argparse
import sys

from sglang.srt.server_args import ServerArgs
from sglang.srt.utils.server_args_config_parser import ConfigArgumentMerger


def check(path: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sglang serve", exit_on_error=False)
    ServerArgs.add_cli_args(parser)
    argv = ConfigArgumentMerger(parser).merge_config_with_args(["--config", path])
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        raise SystemExit(f"{path}: unknown flags {unknown}")
    return args


if __name__ == "__main__":
    for path in sys.argv[1:]:
        args = check(path)
        print(f"{path}: ok ({args.model_path}, tp {args.tp_size})")
