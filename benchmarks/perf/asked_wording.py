"""How far the asked-property table reaches beyond its own wording (issue 22).

The questions in ``fixtures/asked_wording.json`` were written apart from the table
(``agent.plan.asked.PROPERTIES``), the way a chemist asks: "how many rule-of-five criteria does X violate",
"can gefitinib get into the brain", "is aspirin a PAINS compound". Each names the property keys it
asks, or none when it also asks something the table does not cover (a mechanism, a dose, a pKa), where
closing the answer to the table's values would drop a part of the question.

A question counts as right when ``asked_set`` returns exactly its keys: a miss on a property question
leaves the answer to the model (which then lists every observed fact), a wrong hit forces a wrong
answer, and a hit on a question that also asks something else drops that part. The script prints
the hit rate on property questions, the rate of questions correctly left open, every question it
gets wrong, and the time per question.

    python benchmarks/perf/asked_wording.py          # results/asked_wording.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from txscout.agent.plan.asked import asked_set

FIXTURE = Path(__file__).with_name("fixtures") / "asked_wording.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results") / "asked_wording.json")
    args = parser.parse_args()

    items = json.loads(args.fixture.read_text(encoding="utf-8"))["items"]
    rows = []
    started = time.perf_counter()
    for item in items:
        got = [p.key for p in asked_set(item["q"])]
        rows.append({**item, "got": got, "right": sorted(got) == sorted(item["keys"])})
    per_question_ms = (time.perf_counter() - started) / len(items) * 1000

    asking = [r for r in rows if r["keys"]]
    open_ = [r for r in rows if not r["keys"]]
    figures = {
        "questions": len(rows),
        "property_questions": len(asking),
        "hit_rate": sum(r["right"] for r in asking) / len(asking),
        "open_questions": len(open_),
        "left_open_rate": sum(r["right"] for r in open_) / len(open_) if open_ else None,
        "ms_per_question": per_question_ms,
    }

    console = Console()
    wrong = Table(title="Questions the table reads wrong")
    for column in ("question", "expected", "got"):
        wrong.add_column(column)
    for r in rows:
        if not r["right"]:
            wrong.add_row(r["q"], ", ".join(r["keys"]) or "(left open)", ", ".join(r["got"]) or "(left open)")
    console.print(wrong)
    summary = Table(title="Asked-property wording")
    summary.add_column("figure")
    summary.add_column("value", justify="right")
    summary.add_row("property questions read right", f"{figures['hit_rate']:.0%} of {len(asking)}")
    if open_:
        summary.add_row("other questions left open", f"{figures['left_open_rate']:.0%} of {len(open_)}")
    summary.add_row("time per question", f"{per_question_ms:.2f} ms")
    console.print(summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**figures, "rows": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
