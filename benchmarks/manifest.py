"""``manifest.json``: everything needed to repeat a run, and the check that keeps a resume honest.

Written when a session starts (listing it at once, so a killed session stays on record), after each
scored item and as the session ends: the txscout version and git commit, the
model spec with the GGUF file's SHA-256 for a local model or the endpoint for a served one, the mode,
every effective setting (secrets masked), the dataset with its SHA-256 and item count, the selection
(subsets, limit, seed, shots), the judge and grader, and the versions of the packages that shape
answers. ``--resume`` compares the new manifest with the stored one and refuses, naming the keys,
when the model, data or settings differ; ``--force`` continues anyway and notes what changed in the
session it adds. Runs written before the manifest existed keep theirs in ``run.json``, which is read
for a resume (over the keys it has) and then replaced by ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from txscout.core.errors import UserError
from txscout.core.files import atomic_write_text, read_regular
from txscout.core.secrets import mask_text, mask_url, mask_value
from txscout.core.settings import Settings

MANIFEST = "manifest.json"
LEGACY_MANIFEST = "run.json"
MANIFEST_FORMAT = 2
MANIFEST_LIMIT = 10_000_000  # bytes; a manifest is a few KB, one session entry per resume
OPENAI_DEFAULT_ENDPOINT = "https://api.openai.com/v1"
# What must match for a resumed run to continue the same experiment (plus every setting, below).
RESUME_KEYS = (
    "suite",
    "setting",
    "data_sha256",
    "model",
    "model_sha256",
    "endpoint",
    "mode",
    "seed",
    "subsets",
    "limit",
    "shots",
    "judge",
)
Changes = dict[str, list[Any]]  # key -> [stored value, current value]
# Settings already compared under their own key above.
_SETTINGS_COMPARED_ELSEWHERE = frozenset({"model", "mode"})
# Distributions whose versions change what a run produces or how it is graded.
KEY_PACKAGES = (
    "txscout",
    "pydantic",
    "langchain-core",
    "langchain-openai",
    "llama-cpp-python",
    "rdkit",
    "admet-ai",
    "chromadb",
    "sentence-transformers",
    "ray",
)


class Session(BaseModel):
    """One invocation of the run: a first start or a resume."""

    scored: int
    wall_s: float
    started_at: str = ""
    ended_at: str | None = None  # None while the session runs, and for ever when it was killed
    executor: str = ""
    txscout_version: str = ""
    git_commit: str | None = None
    forced: Changes = Field(default_factory=dict)  # what a --force resume overrode


class Manifest(BaseModel):
    format: int = MANIFEST_FORMAT
    created_at: str = ""
    txscout_version: str = ""
    git_commit: str | None = None
    git_dirty: bool | None = None
    python: str = ""
    platform: str = ""
    packages: dict[str, str | None] = Field(default_factory=dict)
    suite: str
    setting: str | None = None  # how the questions were asked, when not the suite's default (open-book)
    data: str
    data_sha256: str
    data_files: dict[str, str] = Field(default_factory=dict)  # each file read -> its own SHA-256 (sha256sum)
    data_items: int | None = None
    selected: int | None = None
    subsets: list[str]
    limit: int | None
    seed: int
    shots: int | None
    model: str
    model_spec: str | None = None
    model_sha256: str | None = None
    endpoint: str | None = None
    mode: str
    judge: str | None
    grader: str
    http_cache: str
    settings: dict[str, Any] = Field(default_factory=dict)
    sessions: list[Session] = Field(default_factory=list)


class LegacyManifest(BaseModel):
    """``run.json`` as written before ``manifest.json``: the setup without versions or settings."""

    suite: str
    data: str
    data_sha256: str
    model: str
    mode: str
    seed: int
    subsets: list[str]
    limit: int | None
    shots: int | None
    judge: str | None
    grader: str
    http_cache: str
    sessions: list[Session] = Field(default_factory=list)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_hash(files: Sequence[Path]) -> str:
    """SHA-256 over the dataset files read (name and bytes), so summaries pin the exact data."""
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def data_files(root: Path, files: Sequence[Path]) -> dict[str, str]:
    """Each dataset file's plain SHA-256, named relative to the data path, so ``sha256sum`` can check it."""
    base = root if root.is_dir() else root.parent
    named = {}
    for file in sorted(files):
        try:
            name = str(file.resolve().relative_to(base.resolve()))
        except ValueError:
            name = str(file)
        named[name] = file_sha256(file)
    return named


def masked_settings(settings: BaseModel, prefix: str = "") -> dict[str, Any]:
    """Every effective setting as a JSON value under its (dotted, for grouped settings) name, secrets
    and URL credentials masked."""
    flat: dict[str, Any] = {}
    for name, value in settings:
        if isinstance(value, BaseModel):
            flat.update(masked_settings(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = mask_value(name, value)
    return flat


def _git(*args: str) -> str | None:
    here = Path(__file__).parent
    try:
        done = subprocess.run(["git", "-C", str(here), *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def source_commit() -> tuple[str | None, bool | None]:
    """The commit txscout runs from, when it runs from a git checkout, and whether tracked files are
    modified. A checkout is recognised only if it tracks this very file, so an installed copy inside
    some other repository (a virtualenv in a project folder) reports nothing rather than a wrong commit."""
    if _git("ls-files", "--error-unmatch", Path(__file__).name) is None:
        return None, None
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return commit, (bool(status) if status is not None else None)


def package_versions(names: Sequence[str] = KEY_PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def model_facts(spec: str | None, settings: Settings) -> dict[str, str | None]:
    """The spec, the SHA-256 of a local model's file, and the endpoint (without secrets) of a served one."""
    if spec is None:
        return {"model_spec": None, "model_sha256": None, "endpoint": None}
    kind, _, rest = spec.partition(":")
    if kind == "local":
        from txscout.agent.backends.models import local_model_path

        return {"model_spec": spec, "model_sha256": file_sha256(local_model_path(rest)), "endpoint": None}
    if settings.base_url:
        endpoint = mask_url(settings.base_url)
    else:
        endpoint = OPENAI_DEFAULT_ENDPOINT if kind == "openai" else f"{kind} provider default"
    return {"model_spec": mask_text(spec, settings), "model_sha256": None, "endpoint": endpoint}


def environment_facts() -> dict[str, Any]:
    """Version, commit, interpreter and package versions: what the code was."""
    commit, dirty = source_commit()
    packages = package_versions()
    return {
        "created_at": now(),
        "txscout_version": packages.get("txscout") or "",
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "packages": packages,
    }


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def differences(stored: BaseModel, current: Manifest) -> Changes:
    """``key -> [stored, current]`` for every resume key and setting that differs. A legacy manifest has
    no settings, so only the keys it has are compared."""
    changed: Changes = {}
    for key in RESUME_KEYS:
        if key in type(stored).model_fields and getattr(stored, key) != getattr(current, key):
            changed[key] = [getattr(stored, key), getattr(current, key)]
    old_settings = getattr(stored, "settings", None)
    if old_settings is not None:
        for name in sorted(set(old_settings) | set(current.settings)):
            if name in _SETTINGS_COMPARED_ELSEWHERE:
                continue
            before, after = old_settings.get(name), current.settings.get(name)
            if before != after:
                changed[f"settings.{name}"] = [before, after]
    return changed


def read_manifest(out: Path) -> Manifest | LegacyManifest | None:
    """The stored manifest of a run folder (``manifest.json``, else a legacy ``run.json``), or None."""
    for name, schema in ((MANIFEST, Manifest), (LEGACY_MANIFEST, LegacyManifest)):
        path = out / name
        if not path.exists():
            continue
        try:
            return schema.model_validate_json(read_regular(path, "run manifest", limit=MANIFEST_LIMIT))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"])) or "the file"
            raise UserError(f"{path} is not a txscout run manifest ({where}: {first['msg']})") from None
    return None


def resume_manifest(out: Path, current: Manifest, *, resume: bool, force: bool) -> tuple[Manifest, Changes]:
    """The manifest to run under (``current``, carrying the stored sessions on a resume) and what a
    ``--force`` resume overrode. Refuses a folder that holds another run without ``--resume``, and a
    changed setup without ``--force``."""
    stored = read_manifest(out)
    if stored is None:
        if (out / "records.jsonl").exists():
            raise UserError(f"{out} has records but no {MANIFEST}; choose another --out")
        return current, {}
    if not resume:
        raise UserError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    changed = differences(stored, current)
    if changed and not force:
        detail = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items())
        raise UserError(f"cannot resume {out}: the run setup changed ({detail}); pass --force to resume anyway")
    created = getattr(stored, "created_at", "") or current.created_at
    return current.model_copy(update={"created_at": created, "sessions": list(stored.sessions)}), changed


def write_manifest(out: Path, manifest: Manifest) -> None:
    """Write ``manifest.json``; a legacy ``run.json`` it supersedes is removed, so one file describes the run."""
    atomic_write_text(out / MANIFEST, manifest.model_dump_json(indent=2) + "\n")
    (out / LEGACY_MANIFEST).unlink(missing_ok=True)
