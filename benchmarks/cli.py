"""``txscout bench``: one subcommand per suite, plus ``validate`` and ``report``.

Typer cannot mix a free SUITE argument with subcommands cleanly, so each suite is its own command,
generated from the name-only registry. Heavy imports (agent, rich tables, matplotlib) happen inside
the commands so that ``txscout --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from txscout.benchmarks.adapters import SUITES
from txscout.core.errors import UserError
from txscout.core.output import write_stdout

if TYPE_CHECKING:
    from txscout.core.settings import Settings

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
JudgeOpt = Annotated[
    str | None, typer.Option("--judge", help="Judge model spec for judge-graded suites (default: the judge setting).")
]
ConcOpt = Annotated[
    int | None,
    typer.Option(
        "--concurrency", min=1, help="Items in flight at once, per worker with --ray (default: bench_concurrency, 1)."
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for option shuffling.")]
ShotsOpt = Annotated[int | None, typer.Option("--shots", help="Few-shot examples (MMLU; default 5).")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue a killed run in --out.")]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="With --resume: continue although the setup differs (noted in the manifest).")
]
RayOpt = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="[ADDRESS]",
        help="Score items on Ray workers: alone, a local Ray instance; HOST:PORT, ray://HOST:PORT or auto joins "
        "that cluster.",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", help="Ray workers, each loading its model once (default: the ray_workers setting, 2)."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress bar or summary table.")]
SettingOpt = Annotated[
    str | None,
    typer.Option(
        "--setting",
        help="How the questions are asked, where the suite offers more than one way: pubmedqa context (default) "
        "or open-book (the question alone; all abstracts stored once for the agent to search).",
    ),
]
OfflineOpt = Annotated[
    bool | None, typer.Option("--offline/--online", help="Network tools off: the agent uses local tools only.")
]


LOCAL_RAY = "local"


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


class _SuiteCommand(TyperCommand):
    """A suite command whose ``--ray`` may stand alone: with no address after it (last, or followed by
    another option) it means a local Ray instance. Typer has no options with an optional value."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        expanded: list[str] = []
        for i, arg in enumerate(args):
            expanded.append(arg)
            if arg == "--ray" and (i + 1 == len(args) or args[i + 1].startswith("-")):
                expanded.append(LOCAL_RAY)
        return super().parse_args(ctx, expanded)


def _masked(exc: UserError) -> UserError:
    """The error with secrets masked (the configured keys wherever they appear, URL credentials), since
    messages quote model specs, endpoints and library errors."""
    from txscout.core.secrets import mask_text
    from txscout.core.settings import load_settings

    try:
        settings = load_settings()
    except UserError:
        settings = None
    return UserError(mask_text(str(exc), settings))


def _executor_options(
    settings: Settings, concurrency: int | None, ray: str | None, workers: int | None, resume: bool, force: bool
) -> dict[str, Any]:
    """Where items run, checked for combinations that would silently mean nothing; what no flag says
    comes from the benchmark settings."""
    if workers is not None and ray is None:
        raise UserError("--workers needs --ray; threads in this process take --concurrency")
    if force and not resume:
        raise UserError("--force only applies with --resume")
    return {
        "concurrency": concurrency or settings.bench_concurrency,
        "ray": ray,
        "workers": workers or settings.ray_workers,
        "resume": resume,
        "force": force,
    }


def _suite_command(suite: str, description: str) -> None:
    def command(
        data: DataOpt,
        out: OutOpt,
        subset: SubsetOpt = None,
        limit: LimitOpt = None,
        mode: ModeOpt = None,
        model: ModelOpt = None,
        judge: JudgeOpt = None,
        concurrency: ConcOpt = None,
        seed: SeedOpt = 0,
        shots: ShotsOpt = None,
        resume: ResumeOpt = False,
        force: ForceOpt = False,
        ray: RayOpt = None,
        workers: WorkersOpt = None,
        quiet: QuietOpt = False,
        setting: SettingOpt = None,
        offline: OfflineOpt = None,
    ) -> None:
        from txscout.benchmarks.runner import options_from, run_benchmark
        from txscout.core.settings import load_settings

        settings = load_settings()
        options = options_from(
            suite=suite,
            data=data,
            out=out,
            subsets=_split(subset),
            limit=limit,
            mode=mode,
            model=model,
            judge=judge or settings.judge,
            seed=seed,
            shots=shots,
            progress=not quiet,
            setting=setting,
            offline=offline,
            **_executor_options(settings, concurrency, ray, workers, resume, force),
        )
        try:
            run_benchmark(options)
        except UserError as exc:
            raise _masked(exc) from None
        write_stdout(f"{out / 'summary.json'}\n")

    command.__doc__ = description
    app.command(name=suite, help=description, cls=_SuiteCommand)(command)


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
        write_stdout(report.model_dump_json(indent=2) + "\n")
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
