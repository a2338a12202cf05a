"""What `full` mode costs over `react`: extra model calls, tokens and wall time per question (issue 5).

Each MedQA question runs once in `react` and once in `full` with the same model and tools; the order
alternates between questions so that warm prompt caches favour neither mode. Two measures of the
extra cost are reported:

* difference: `full` minus `react`, per question (what a user pays for switching the mode);
* phases: the model calls and tokens `full` spent in its own phases (uncertainty sampling, critique,
  revision), read from the run's ModelCall events. It excludes the ReAct phase, which both modes
  share, so it is not disturbed by two ReAct runs taking different paths.

A batched backend counts one sampling request as one model call; the embedded model samples
sequentially (it serialises calls and reuses its prompt cache), so each sample is one call.

Without tools (the default) nothing can be re-searched, so the figure is the cost of sampling,
critique and revision; ``--tools default`` adds txscout's tools (offline: PubMed and web report the
network is off, memory search works) and so the re-search calls, at several times the run time.

    python benchmarks/perf/full_cost.py --limit 10 --out benchmarks/perf/results/full_cost.json
    python benchmarks/perf/full_cost.py --limit 2 --tools default --out benchmarks/perf/results/full_cost_tools.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from txscout.agent.answers import extract_answer, normalise, parse_options
from txscout.core.events import ModelCall

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "medqa" / "medqa_us_4options_test.jsonl"
FULL_PHASES = ("uncertainty", "critique", "revision")


class ModeRun(BaseModel):
    model_calls: int
    input_tokens: int
    output_tokens: int
    tool_calls: int
    wall_s: float
    correct: bool
    confidence: float | None = None
    phase_calls: int = 0
    phase_tokens: int = 0
    status: str = "completed"


class QuestionCost(BaseModel):
    id: str
    gold: str
    react: ModeRun
    full: ModeRun


def load_questions(path: Path, limit: int) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
            if len(rows) >= limit:
                break
    return rows


def render_question(row: dict[str, Any]) -> str:
    options = "\n".join(f"{letter}. {text}" for letter, text in row["options"].items())
    return f"{row['question']}\n\n{options}\n\nAnswer with the letter of the correct option."


def run_mode(agent: Any, prompt: str, gold: str, mode: str) -> ModeRun:
    started = time.perf_counter()
    answer = agent.run(prompt, mode=mode)
    wall = time.perf_counter() - started
    options = parse_options(prompt)
    letter = normalise(extract_answer(answer.text), options).key
    if letter not in options:
        letter = normalise(answer.text, options).key
    phase = [e for e in answer.events if isinstance(e, ModelCall) and e.purpose in FULL_PHASES]
    return ModeRun(
        model_calls=answer.usage.model_calls,
        input_tokens=answer.usage.input_tokens,
        output_tokens=answer.usage.output_tokens,
        tool_calls=answer.usage.tool_calls,
        wall_s=wall,
        correct=letter == gold,
        confidence=answer.confidence,
        phase_calls=len(phase),
        phase_tokens=sum(e.input_tokens + e.output_tokens for e in phase),
        status=answer.status,
    )


def build_tools(choice: str) -> tuple[list[Any], str]:
    """Tools for both modes: none, the default set (offline: no network in benchmarks), or the
    default set when it imports and none otherwise."""
    if choice == "none":
        return [], "none"
    try:
        from txscout.agent.toolbox import default_tools
        from txscout.core.settings import load_settings

        return default_tools(load_settings(offline=True)), "default"
    except ImportError as exc:
        if choice == "default":
            raise
        return [], f"none (default tools did not import: {exc})"


def summarise(results: list[QuestionCost]) -> dict[str, Any]:
    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else 0.0

    def per_mode(name: str) -> dict[str, float]:
        runs = [getattr(r, name) for r in results]
        return {
            "model_calls": mean([r.model_calls for r in runs]),
            "tokens": mean([r.input_tokens + r.output_tokens for r in runs]),
            "input_tokens": mean([r.input_tokens for r in runs]),
            "output_tokens": mean([r.output_tokens for r in runs]),
            "tool_calls": mean([r.tool_calls for r in runs]),
            "wall_s": mean([r.wall_s for r in runs]),
            "accuracy": mean([float(r.correct) for r in runs]),
        }

    return {
        "questions": len(results),
        "react": per_mode("react"),
        "full": per_mode("full"),
        "extra_per_question": {
            "model_calls": mean([r.full.model_calls - r.react.model_calls for r in results]),
            "tokens": mean(
                [
                    r.full.input_tokens + r.full.output_tokens - r.react.input_tokens - r.react.output_tokens
                    for r in results
                ]
            ),
            "tool_calls": mean([r.full.tool_calls - r.react.tool_calls for r in results]),
            "wall_s": mean([r.full.wall_s - r.react.wall_s for r in results]),
            "wall_ratio": mean([r.full.wall_s for r in results]) / max(mean([r.react.wall_s for r in results]), 1e-9),
        },
        "full_phases_per_question": {
            "model_calls": mean([r.full.phase_calls for r in results]),
            "tokens": mean([r.full.phase_tokens for r in results]),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MedQA-style JSONL file")
    parser.add_argument("--limit", type=int, default=10, help="number of questions")
    parser.add_argument("--model", default="local", help="model spec (default: the embedded model)")
    parser.add_argument(
        "--tools",
        choices=("none", "default", "auto"),
        default="none",
        help="none (fast: the cost of the phases alone), default (txscout's tools, offline) or auto "
        "(default when they import, else none)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/perf/results/full_cost.json")
    args = parser.parse_args()

    from txscout.agent.api import Agent

    tools, tools_label = build_tools(args.tools)
    started = time.perf_counter()
    agent = Agent(model=args.model, tools=tools, mode="full")
    load_s = time.perf_counter() - started
    console = Console()
    results = []
    for index, row in enumerate(load_questions(args.data, args.limit)):
        prompt, gold = render_question(row), row["answer_idx"]
        order = ("react", "full") if index % 2 == 0 else ("full", "react")
        runs = {mode: run_mode(agent, prompt, gold, mode) for mode in order}
        results.append(QuestionCost(id=str(row.get("realidx", index)), gold=gold, **runs))
        console.print(
            f"[dim]{index + 1}: react {runs['react'].model_calls} calls {runs['react'].wall_s:.1f} s · "
            f"full {runs['full'].model_calls} calls {runs['full'].wall_s:.1f} s[/]"
        )

    summary = summarise(results)
    settings = agent.settings
    report = {
        "model": agent.model_label,
        "tools": tools_label,
        "data": str(args.data),
        "model_load_s": load_s,
        "settings": {
            "samples": settings.samples,
            "sample_temperature": settings.sample_temperature,
            "entropy_threshold_bits": settings.entropy_threshold,
            "search_rounds": settings.search_rounds,
            "critique_rounds": settings.critique_rounds,
        },
        "summary": summary,
        "questions": [r.model_dump() for r in results],
    }
    table = Table(
        "per question (mean)", "react", "full", "full - react", title=f"full vs react, {len(results)} questions"
    )
    extra = summary["extra_per_question"]
    for key, label, fmt in (
        ("model_calls", "model calls", "{:.2f}"),
        ("tokens", "tokens (in+out)", "{:.0f}"),
        ("tool_calls", "tool calls", "{:.2f}"),
        ("wall_s", "wall time (s)", "{:.2f}"),
    ):
        table.add_row(
            label,
            fmt.format(summary["react"][key]),
            fmt.format(summary["full"][key]),
            fmt.format(extra[key]),
        )
    table.add_row("accuracy", f"{summary['react']['accuracy']:.0%}", f"{summary['full']['accuracy']:.0%}", "")
    phases = summary["full_phases_per_question"]
    table.add_row("full's own phases: calls / tokens", "", f"{phases['model_calls']:.2f} / {phases['tokens']:.0f}", "")
    console.print(table)
    console.print(f"model {agent.model_label} · tools {tools_label} · wall ratio full/react {extra['wall_ratio']:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
