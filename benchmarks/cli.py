"""``txscout bench``: one subcommand per suite, plus ``validate`` and ``report``.

Typer cannot mix a free SUITE argument with subcommands cleanly, so each suite is its own command,
generated from the name-only registry. Heavy imports (agent, rich tables, matplotlib) happen inside
the commands so that ``txscout --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from txscout.benchmarks.adapters import SUITES
from txscout.core.errors import UserError

app = typer.Typer(
    help="Run benchmarks (one command per suite), validate dataset files, and compare runs.",
    no_args_is_help=True,
)

DataOpt = Annotated[Path, typer.Option("--data", help="Dataset file or folder.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Output folder for records, traces and summary.")]
SubsetOpt = Annotated[list[str] | None, typer.Option("--subset", help="Subset to run (repeatable or comma-separated).")]
LimitOpt = Annotated[int | None, typer.Option("--limit", help="Run only the first N selected items.")]
ModeOpt = Annotated[str | None, typer.Option("--mode", help="bare, react or full (default: settings).")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Model spec (default: settings, the embedded model).")]
JudgeOpt = Annotated[str | None, typer.Option("--judge", help="Judge model spec for judge-graded suites.")]
ConcOpt = Annotated[int, typer.Option("--concurrency", help="Items in flight at once.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for option shuffling.")]
ShotsOpt = Annotated[int | None, typer.Option("--shots", help="Few-shot examples (MMLU; default 5).")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue a killed run in --out.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress bar or summary table.")]


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _suite_command(suite: str, description: str) -> None:
    def command(
        data: DataOpt,
        out: OutOpt,
        subset: SubsetOpt = None,
        limit: LimitOpt = None,
        mode: ModeOpt = None,
        model: ModelOpt = None,
        judge: JudgeOpt = None,
        concurrency: ConcOpt = 1,
        seed: SeedOpt = 0,
        shots: ShotsOpt = None,
        resume: ResumeOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        from txscout.benchmarks.runner import options_from, run_benchmark

        options = options_from(
            suite=suite,
            data=data,
            out=out,
            subsets=_split(subset),
            limit=limit,
            mode=mode,
            model=model,
            judge=judge,
            concurrency=concurrency,
            seed=seed,
            shots=shots,
            resume=resume,
            progress=not quiet,
        )
        run_benchmark(options)
        typer.echo(str(out / "summary.json"))

    command.__doc__ = description
    app.command(name=suite, help=description)(command)


for _name, (_module, _description) in SUITES.items():
    _suite_command(_name, _description)


@app.command("validate")
def validate_command(
    suite: Annotated[str, typer.Argument(help=f"One of: {', '.join(SUITES)}.")],
    data: DataOpt,
    seed: SeedOpt = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Parse the whole dataset without a model and print item counts, per subset, and skips with reasons."""
    from txscout.benchmarks.validate import print_report, validate

    report = validate(suite, data, seed=seed)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    from rich.console import Console

    print_report(report, Console(soft_wrap=True))


@app.command("report")
def report_command(
    runs: Annotated[list[Path], typer.Argument(help="Run output folders to compare.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the PNG plots and report.json.")] = Path(
        "bench-report"
    ),
) -> None:
    """Compare runs per mode and subject, and write accuracy and calibration plots as PNG."""
    from rich.console import Console

    from txscout.benchmarks.report import build_report, print_report

    report = build_report(runs, out)
    print_report(report, Console())


def main() -> None:
    """Stand-alone entry (``python -m txscout.benchmarks.cli``): user errors print one line and exit 2."""
    try:
        app()
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
