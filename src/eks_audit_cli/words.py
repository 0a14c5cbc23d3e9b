"""Counts in words: "1 cluster", "2 clusters" (the CLI said "1 clusters")."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
