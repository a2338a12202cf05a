"""Counts that read as English ("1 step", "2 steps"), since the timeline and exports are read by people."""

from __future__ import annotations


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
