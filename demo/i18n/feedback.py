"""Strings of answer feedback, the reasoning timeline, edit/retry."""

STRINGS: dict[str, dict[str, str]] = {}
