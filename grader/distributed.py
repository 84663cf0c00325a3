"""Grading on a Dask cluster, for classes that outgrow one machine.

The work unit is the same as on one machine: :func:`grader.grading.grade_one`
grades one submission in its sandbox and returns a :class:`~grader.results.Result`
without touching the gradebook; :func:`grader.grading.merge` then records it.
Here each ``grade_one`` runs as a task on a Dask worker and the results are
merged one at a time, in this process, as they come back: the gradebook (one
SQLite file) is only ever written by the machine that runs the command.

What travels: each task carries its submission folder (the notebook and any
small files next to it); the workers get, once, a copy of the gradebook
stripped of all student data (it holds the locked cells and hidden tests that
grading restores); the graded notebook comes back inside the result. So the
workers need the same environment and course folder (shared or copied) but
not ``var/``.

    python -m grader autograde 01-linear-regression --scheduler tcp://host:8786

or, from Python, :func:`autograde_on_cluster` / :func:`grade_on_cluster`.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .course import var_dir
from .results import Result

Job = tuple[str, str, Path]     # (assignment, student, submitted notebook or its folder)
MAX_FILE = 64 << 20             # files next to the notebook larger than this are not shipped
STUDENT_TABLES = ("comment", "grade", "submitted_notebook", "submitted_assignment", "student")


def course_gradebook() -> bytes:
    """The gradebook without any student data: assignments, notebooks and cells only."""
    src = var_dir() / "gradebook.db"
    if not src.is_file():
        raise SystemExit(f"no gradebook at {src}: run `python -m grader build` first")
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "gradebook.db"
        with sqlite3.connect(src) as a, sqlite3.connect(dest) as b:
            a.backup(b)
        with sqlite3.connect(dest) as db:
            for table in STUDENT_TABLES:
                db.execute(f"DELETE FROM {table}")
        with sqlite3.connect(dest) as db:
            db.execute("VACUUM")
        return dest.read_bytes()


def _files(path: Path, assignment: str) -> dict[str, bytes]:
    """The submission folder's plain files (notebook first), as the worker will rebuild it."""
    notebook = path / f"{assignment}.ipynb" if path.is_dir() else path
    files = {notebook.name: notebook.read_bytes()}
    for p in sorted(notebook.parent.iterdir()):
        if (p.is_file() and not p.is_symlink() and not p.name.startswith(".")
                and p.suffix != ".ipynb" and p.stat().st_size < MAX_FILE):
            files[p.name] = p.read_bytes()
    return files


def _worker_var(gradebook: bytes) -> Path:
    """A var/ on this worker holding the shipped gradebook (written once per content)."""
    digest = hashlib.sha256(gradebook).hexdigest()[:16]
    var = Path(tempfile.gettempdir()) / f"dlcourse-worker-var-{digest}"
    db = var / "gradebook.db"
    if not db.is_file():
        var.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = var / f"gradebook.{os.getpid()}.tmp"
        tmp.write_bytes(gradebook)
        os.replace(tmp, db)
    return var


def _grade_shipped(assignment: str, student: str, files: dict[str, bytes], gradebook: bytes,
                   limits, per_host: dict[str, int]) -> Result:
    """Runs on a worker: rebuild the submission folder in scratch space, grade it."""
    from dataclasses import replace

    from distributed import get_worker

    from .grading import grade_one

    if not limits.threads:  # share this machine's cores among its dask workers
        host = get_worker().address.rsplit(":", 1)[0]
        limits = replace(limits, threads=max(1, (os.cpu_count() or 1) // per_host.get(host, 1)))
    before = os.environ.get("DLCOURSE_VAR")
    os.environ["DLCOURSE_VAR"] = str(_worker_var(gradebook))
    try:
        with tempfile.TemporaryDirectory(prefix="dlcourse-submission-") as tmp:
            folder = Path(tmp) / student / assignment
            folder.mkdir(parents=True)
            for name, data in files.items():
                (folder / name).write_bytes(data)
            return grade_one(assignment, student, folder / next(iter(files)), limits=limits)
    finally:  # a worker in the client's own process (processes=False) keeps its var/
        if before is None:
            os.environ.pop("DLCOURSE_VAR", None)
        else:
            os.environ["DLCOURSE_VAR"] = before


def connect(scheduler):
    """(client, whether we opened it) for a scheduler address or an existing client."""
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(scheduler, timeout="30s"), True
    except OSError as exc:
        raise SystemExit(f"cannot reach the Dask scheduler at {scheduler}: {exc}\n"
                         "Start one with `dask scheduler` and the workers with `dask worker "
                         f"{scheduler} --nworkers N --nthreads 1` (README: Grading on a cluster).") from exc


def grade_on_cluster(scheduler, jobs: Iterable[Job], limits=None, *,
                     merge: Callable[[Result], object] | None = None, retries: int = 1,
                     on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Grade every job on the cluster; merge each result here as it arrives.

    ``scheduler``: an address (``tcp://host:8786``) or a ``distributed.Client``.
    ``jobs``: (assignment, student, submitted notebook or its folder) triples.
    ``limits``: :class:`grader.sandbox.Limits` (default: the course configuration;
    ``threads=0`` shares each machine's cores among its workers).
    ``merge``: what records a result (default :func:`grader.grading.merge`); a merge
    that fails is recorded on its result (``merge_error``) and the others go on.
    ``retries``: how often a task is run again when its worker is lost.
    ``on_result``: called after each merge (a progress bar).
    Returns the results in the order of ``jobs``.
    """
    from distributed import as_completed

    from .merge import merge as merge_into_gradebook
    from .runner import run
    from .sandbox import Limits

    merge = merge or merge_into_gradebook
    limits = limits or Limits.from_config()
    jobs = [(a, s, Path(p)) for a, s, p in jobs]
    if not jobs:
        return []
    client, own = connect(scheduler)
    try:
        per_host: dict[str, int] = {}
        for address in client.scheduler_info()["workers"]:
            host = address.rsplit(":", 1)[0]
            per_host[host] = per_host.get(host, 0) + 1
        gradebook = client.scatter(course_gradebook(), broadcast=True)
        futures = {}
        for i, (assignment, student, path) in enumerate(jobs):
            fut = client.submit(_grade_shipped, assignment, student, _files(path, assignment),
                                gradebook, limits, per_host, pure=False, retries=retries,
                                key=f"grade-{assignment}-{student}-{time.time_ns()}")
            futures[fut] = i
        return run(futures, [(a, s) for a, s, _ in jobs], as_completed, merge=merge,
                   on_result=on_result, why="the dask task failed")
    finally:
        if own:
            client.close()


def autograde_on_cluster(scheduler, assignments: list[str], students: list[str] | None = None,
                         *, limits=None, progress: bool = True) -> list[Result]:
    """Like :func:`grader.grading.autograde_submissions`, with the grading on a Dask cluster:
    every collected submission (``var/submitted/<student>/<assignment>/``) of the
    assignments, or only those of ``students``."""
    from .merge import submission_file
    from .runner import Progress, submitted_students

    # A student of ``students`` without a submission is skipped, never written into the
    # gradebook (as on one machine; see grader.grading.unknown_students).
    jobs = [(a, s, submission_file(a, s)) for a in assignments
            for s in (students or submitted_students(a))]
    jobs = [(a, s, p) for a, s, p in jobs if p.is_file()]
    with Progress(len(jobs), "autograding on the cluster", progress) as bar:
        return grade_on_cluster(scheduler, jobs, limits, on_result=bar.tick)
