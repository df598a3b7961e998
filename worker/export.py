"""`python -m worker.export shares|votes|feedback [--since T] [--until T] [--out FILE]`: what the service
kept in a period, as JSON Lines (one record a line) on stdout or into FILE. T is an ISO date or time
(UTC unless it says otherwise) or Unix seconds; by default all of it."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import redis

from worker.ops.settings import Settings
from worker.store.export_records import EXPORTERS, Record


def moment(value: str) -> float:
    """Unix seconds from `1700000000`, `2026-12-01` or `2026-12-01T10:00:00+00:00`."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date or time: {value!r} (use 2026-12-01 or Unix seconds)") from exc
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def write_lines(records: Iterable[Record], out: TextIO) -> int:
    n = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker.export", description=__doc__)
    parser.add_argument("kind", choices=sorted(EXPORTERS))
    parser.add_argument("--since", type=moment, default=0.0, help="start of the period (included)")
    parser.add_argument("--until", type=moment, default=float("inf"), help="end of the period (excluded)")
    parser.add_argument("--out", type=Path, help="a file to write (default: stdout)")
    args = parser.parse_args(argv)
    client = redis.Redis.from_url(Settings.from_env().redis_url)
    records = EXPORTERS[args.kind](client, args.since, args.until)
    if args.out is None:
        n = write_lines(records, sys.stdout)
    else:
        with args.out.open("w", encoding="utf-8") as out:
            n = write_lines(records, out)
    print(f"{n} {args.kind} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
