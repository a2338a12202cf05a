"""``txscout bench validate``: parse a whole dataset without a model and count what would run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from txscout.benchmarks.adapters import get_adapter

if TYPE_CHECKING:
    from rich.console import Console


class ValidationReport(BaseModel):
    suite: str
    data: str
    items: int
    per_subset: dict[str, int]
    per_tag: dict[str, int]
    per_answer_type: dict[str, int]
    default_subsets: list[str] = Field(default_factory=list)
    skipped: int
    malformed: int
    skipped_reasons: dict[str, int]
    malformed_rows: list[str]
    duplicate_ids: list[str]
    notes: list[str] = Field(default_factory=list)


def validate(suite: str, data: Path, seed: int = 0) -> ValidationReport:
    adapter = get_adapter(suite)
    loaded = adapter.read(data, seed=seed)
    ids = Counter(i.id for i in loaded.items)
    reasons = Counter(s.reason for s in loaded.skipped)
    return ValidationReport(
        suite=adapter.name,
        data=str(data),
        items=len(loaded.items),
        per_subset=dict(sorted(Counter(i.subset for i in loaded.items).items())),
        per_tag=dict(sorted(Counter(t for i in loaded.items for t in i.tags).items())),
        per_answer_type=dict(Counter(i.answer_type for i in loaded.items)),
        default_subsets=loaded.default_subsets,
        skipped=len(loaded.skipped),
        malformed=sum(s.malformed for s in loaded.skipped),
        skipped_reasons=dict(reasons.most_common()),
        malformed_rows=[f"{s.source}: {s.reason}" for s in loaded.skipped if s.malformed],
        duplicate_ids=sorted(k for k, v in ids.items() if v > 1),
        notes=loaded.notes,
    )


def print_report(report: ValidationReport, console: Console) -> None:
    from rich.table import Table

    console.print(
        f"[bold]{report.suite}[/] {report.data}: {report.items} items, {report.skipped} skipped "
        f"({report.malformed} malformed)"
    )
    table = Table("subset", "items")
    for name, count in report.per_subset.items():
        table.add_row(name + (" (default)" if name in report.default_subsets else ""), str(count))
    console.print(table)
    if report.per_tag and len(report.per_tag) <= 60:
        console.print("tags: " + ", ".join(f"{k} {v}" for k, v in report.per_tag.items()))
    console.print("answer types: " + ", ".join(f"{k} {v}" for k, v in report.per_answer_type.items()))
    for reason, count in report.skipped_reasons.items():
        console.print(f"skipped {count}: {reason}")
    for row in report.malformed_rows[:20]:
        console.print(f"[yellow]malformed[/] {row}")
    if len(report.malformed_rows) > 20:
        console.print(f"... and {len(report.malformed_rows) - 20} more malformed rows")
    if report.duplicate_ids:
        console.print(f"[red]duplicate ids[/]: {', '.join(report.duplicate_ids[:10])}")
    for note in report.notes:
        console.print(note)
