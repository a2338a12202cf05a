"""Score items on Ray: the same run spread over the cores of one machine or the nodes of a cluster.

Each worker is a long-lived actor that builds its scorer (agent, model, judge) once from a picklable
recipe and then scores item after item. The driver hands items to free workers and writes every record
and trace itself, so the run folder keeps its guarantees: one fsynced record per item, ``--resume``
after the driver is killed, the progress bar and the summary.

Faults: a worker process that dies mid-item (killed, out of memory, its node lost) is restarted by Ray,
which rebuilds its scorer and retries the item, up to ``ATTEMPTS`` attempts in all; an item that fails
every attempt is recorded as an error with the cause, so every item ends with exactly one record. A
user error inside a worker (the model or judge is unavailable) stops the run, as it does on threads.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from txscout.benchmarks.items import Item, Record
from txscout.benchmarks.scoring import AgentFactory, Scorer, failed_record
from txscout.core.errors import UserError
from txscout.core.secrets import mask_text, mask_url

if TYPE_CHECKING:
    from txscout.benchmarks.runner import BenchRun, Tally
    from txscout.core.settings import Mode, Settings

ATTEMPTS = 3
LOCAL = "local"
CONNECT_TIMEOUT_S = 5.0
# A local instance only carries items and records (kilobytes), so its shared-memory object store is
# kept small rather than Ray's default of 30% of RAM.
LOCAL_OBJECT_STORE_BYTES = 128 * 2**20


@dataclass(frozen=True)
class WorkerRecipe:
    """What a worker builds its scorer from; pickled once per worker."""

    suite: str
    mode: Mode
    agents: AgentFactory
    judge: str | None
    settings: Settings


@dataclass(frozen=True)
class Scored:
    record: Record
    trace: str


class ItemWorker:
    """A Ray actor body. Building the scorer never raises here: a failure is kept and raised by every
    call instead, so the driver sees the real cause (say, a model that cannot load) as a task error
    rather than as a dead actor that Ray would try to restart."""

    def __init__(self, recipe: WorkerRecipe) -> None:
        self._error: BaseException | None = None
        try:
            self._scorer = _build_scorer(recipe)
        except Exception as exc:
            self._error = exc

    def ready(self) -> int:
        if self._error is not None:
            raise self._error
        return os.getpid()

    def score(self, item: Item) -> Scored:
        self.ready()
        from txscout.core.events import TraceWriter

        with tempfile.TemporaryDirectory(prefix="txscout-item-") as tmp:
            path = Path(tmp) / "trace.jsonl"
            writer = TraceWriter(path)
            try:
                record = self._scorer.score(item, writer)
            finally:
                writer.close()
            return Scored(record, path.read_text(encoding="utf-8"))


def _build_scorer(recipe: WorkerRecipe) -> Scorer:
    from txscout.benchmarks.adapters import get_adapter

    judge = None
    if recipe.judge:
        from txscout.benchmarks.judge import Judge

        judge = Judge.load(recipe.judge, recipe.settings)
    return Scorer(get_adapter(recipe.suite), recipe.agents(), judge, recipe.mode)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray, which is not installed: pip install 'txscout[ray]'") from None
    return ray


def _host_port(address: str) -> tuple[str, int]:
    scheme, sep, target = address.partition("://")
    if not sep:
        scheme, target = "ray", address
    host, colon, port = target.rstrip("/").rpartition(":")
    if scheme != "ray" or not colon or not port.isdigit() or not host or "@" in host:
        raise UserError(f"--ray address {mask_url(address)!r} is not HOST:PORT, ray://HOST:PORT, auto or local")
    return host.strip("[]"), int(port)


def _check_reachable(address: str) -> None:
    """Ray waits minutes for a cluster that is not there; a plain TCP connection answers in seconds."""
    host, port = _host_port(address)
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(f"cannot reach the Ray cluster at {address}: {reason}") from None


def preflight(address: str) -> None:
    """Fail fast, before any data is read: Ray must be installed and a named cluster reachable."""
    _import_ray()
    if address not in (LOCAL, "auto"):
        _check_reachable(address)


def connect(address: str, workers: int) -> bool:
    """Join the cluster at ``address`` or, for ``local``, start a Ray instance on this machine; True if
    this call did (and the caller should shut Ray down). A process that has already initialised Ray
    (a library user's own cluster) is used as it is, unless ``address`` names another cluster."""
    ray = _import_ray()
    if address not in (LOCAL, "auto"):
        _check_reachable(address)
    if ray.is_initialized():
        current = ray.get_runtime_context().gcs_address
        if address not in (LOCAL, "auto", current):
            raise UserError(f"Ray is already connected to {current} in this process, not {mask_url(address)}")
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reporting home from a benchmark run
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": "ERROR", "include_dashboard": False}
    if address == LOCAL:
        cpus = max(1, min(workers, os.cpu_count() or 1))
        options.update(num_cpus=cpus, object_store_memory=LOCAL_OBJECT_STORE_BYTES)
    else:
        options["address"] = address
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(f"cannot start or join Ray at {mask_url(address)}: {mask_text(_first_line(exc))}") from None
    return True


class RayPool:
    """Worker actors for one run session, and the dispatch loop that feeds them."""

    def __init__(self, run: BenchRun, actors: list[Any], owns_ray: bool) -> None:
        self._run = run
        self._actors = actors
        self._owns_ray = owns_ray
        self._ray = _import_ray()

    @classmethod
    def start(cls, run: BenchRun) -> RayPool:
        """Connect, start the workers and wait until each has built its scorer; a worker that cannot
        (an unavailable model or judge) stops the run here, before any item."""
        options = run.options
        assert options.ray is not None and run.agents is not None
        owns_ray = connect(options.ray, options.workers)
        ray = _import_ray()
        recipe = WorkerRecipe(run.adapter.name, run.mode, run.agents, options.judge, run.settings)
        actor_class = ray.remote(ItemWorker).options(
            max_restarts=-1,
            max_task_retries=ATTEMPTS - 1,
            max_concurrency=options.concurrency,
            scheduling_strategy="SPREAD",
        )
        pool = cls(run, [actor_class.remote(recipe) for _ in range(options.workers)], owns_ray)
        try:
            pool._get([actor.ready.remote() for actor in pool._actors])
        except ray.exceptions.RayActorError as exc:  # the process died while building (out of memory, a crash)
            pool.close()
            raise UserError(f"Ray workers could not start: {_first_line(exc)}") from None
        except BaseException:
            pool.close()
            raise
        return pool

    def _get(self, refs: Any) -> Any:
        """``ray.get`` with a worker's user error re-raised as itself (one line for the CLI)."""
        try:
            return self._ray.get(refs)
        except self._ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, UserError):
                raise exc.cause from None
            raise

    def run(self, todo: list[Item], tally: Tally) -> None:
        """Score ``todo``: at most ``concurrency`` items in flight per worker, each result written as it
        lands."""
        ray = self._ray
        queue = deque(todo)
        free = [a for _ in range(self._run.options.concurrency) for a in self._actors]
        in_flight: dict[Any, tuple[Any, Item]] = {}
        while queue or in_flight:
            while free and queue:
                actor, item = free.pop(0), queue.popleft()
                in_flight[actor.score.remote(item)] = (actor, item)
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                actor, item = in_flight.pop(ref)
                free.append(actor)
                scored = self._result(ref, item)
                tally.land(scored.record, scored.trace or None)

    def _result(self, ref: Any, item: Item) -> Scored:
        try:
            scored: Scored = self._get(ref)
        except self._ray.exceptions.RayTaskError:
            raise
        except self._ray.exceptions.RayError as exc:
            reason = (
                f"worker process lost {ATTEMPTS} times while scoring this item (killed, out of memory, or its node "
                f"gone); last: {type(exc).__name__}: {_first_line(exc)}"
            )
            grader = self._run.adapter.grader_name(self._run.judge)
            record = failed_record(item, grader, reason, settings=self._run.settings)
            return Scored(record.model_copy(update={"trace": ""}), "")
        return scored

    def close(self) -> None:
        """Stop the workers (items still in flight are lost and rerun on ``--resume``), and Ray itself
        if this run started it."""
        for actor in self._actors:
            self._ray.kill(actor, no_restart=True)
        if self._owns_ray:
            self._ray.shutdown()
