"""`python -m worker.export <kind>`: what the demo keeps on purpose, as JSON Lines on stdout (or `-o FILE`).

votes    every battle vote, with voter hashes, exclusions and their reasons (worker/store/export_votes.py)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

import redis

from worker.ops.settings import Settings
from worker.store.export_votes import export_votes

KINDS: dict[str, Callable[[Any, TextIO], int]] = {"votes": export_votes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker.export", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("-o", "--output", help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    client = redis.Redis.from_url(Settings.from_env().redis_url)
    with open(args.output, "w", encoding="utf-8") if args.output else sys.stdout as out:
        n = KINDS[args.kind](client, out)
    print(f"{n} {args.kind} exported", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
