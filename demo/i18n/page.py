"""Strings of the page's tabs, widgets, queue notes and errors."""

STRINGS: dict[str, dict[str, str]] = {}
