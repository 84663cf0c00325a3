"""The local parallel runner: many submissions graded by worker processes, merged here.

Persistent worker processes (each imports nbgrader once and grades many notebooks)
run :func:`grader.grading.grade_one`; the parent merges each result into the gradebook
as it arrives (serially: nbgrader's SQLite gradebook is not safe for parallel writers),
with a progress bar. grader.distributed runs the same loop on a Dask cluster's executor.
"""
from __future__ import annotations

import os
from pathlib import Path

from .course import var_dir
from .merge import merge_safely, submission_file
from .results import Result
from .sandbox import Limits, check_bwrap
from .score import _zero_cells

def _init_worker(env: dict) -> None:
    os.environ.update(env)
    import nbgrader.preprocessors  # noqa: F401  (import once per worker, not per notebook)
    import nbclient  # noqa: F401


def _work(assignment: str, student: str, submission: str, limits: Limits) -> Result:
    from .grading import grade_one

    return grade_one(assignment, student, Path(submission), limits=limits)


def submitted_students(assignment: str) -> list[str]:
    """Students with a collected submission of ``assignment`` in var/submitted/."""
    root = var_dir() / "submitted"
    return sorted(p.parent.name for p in root.glob(f"*/{assignment}") if p.is_dir())


def unknown_students(assignments: list[str], students: list[str] | None) -> list[tuple[str, str]]:
    """The (assignment, student) pairs of ``students`` without a collected submission."""
    return [(a, s) for a in assignments for s in (students or [])
            if not submission_file(a, s).is_file()]


def autograde_submissions(assignments: list[str], students: list[str] | None = None,
                          workers: int | None = None, *, limits: Limits | None = None,
                          progress: bool = True) -> list[Result]:
    """Grade every (assignment, student) submission in parallel and merge each result.

    ``workers`` persistent processes (default: the number of cores) each grade many
    notebooks; the parent merges results into the gradebook one at a time as they
    arrive, and a progress bar shows done / failed / time left. Returns the results.
    A student of ``students`` without a submission (see :func:`unknown_students`) is
    skipped, never written into the gradebook. A merge that fails is recorded on its
    result (``merge_error``) and the others go on.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    limits = limits or Limits.from_config()
    if limits.sandbox:
        check_bwrap()
    jobs = []
    for a in assignments:
        for s in (students or submitted_students(a)):
            if submission_file(a, s).is_file():
                jobs.append((a, s, str(submission_file(a, s))))
    if not jobs:
        return []
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if not limits.threads:
        limits = Limits(**{**limits.as_dict(), "threads": max(1, (os.cpu_count() or 1) // workers)})
    ctx = mp.get_context("spawn")
    env = {"DLCOURSE_VAR": str(var_dir()), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(env,)) as pool:
        futures = {pool.submit(_work, a, s, sub, limits): i for i, (a, s, sub) in enumerate(jobs)}
        with Progress(len(jobs), f"autograding ({workers} workers)", progress) as bar:
            return run(futures, [(a, s) for a, s, _ in jobs], as_completed, on_result=bar.tick,
                       why="worker failed")


def failed(result: Result) -> bool:
    """Whether a result needs the instructor: not graded, or not recorded in the gradebook."""
    return result.status != "graded" or bool(result.merge_error)


class Progress:
    """A progress bar of notebooks done and failed (see :func:`failed`)."""

    def __init__(self, total: int, desc: str, enabled: bool = True):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=desc, unit="notebook", disable=not enabled)
        self.failed = 0

    def tick(self, result: Result) -> None:
        self.failed += failed(result)
        self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()
        return False


def run(futures: dict, jobs: list[tuple[str, str]], as_completed, *, merge=None,
        on_result=None, why: str = "the task failed") -> list[Result]:
    """The one loop of every runner: as each future (of a local process pool, or of a Dask
    cluster's client) completes, take its Result (a task that raised becomes an "error"
    result with zero scores), merge it serially (:func:`grader.merge.merge_safely`; a failed
    merge is recorded on the result) and report it. ``futures`` maps each future to its
    index in ``jobs`` ((assignment, student) pairs); the results come back in that order."""
    results: list[Result | None] = [None] * len(jobs)
    for fut in as_completed(futures):
        i = futures[fut]
        a, s = jobs[i]
        try:
            result = fut.result()
        except Exception as e:  # noqa: BLE001  (recorded; the others go on)
            result = Result(assignment=a, student=s, status="error",
                            notes=[f"grader error: {why}: {type(e).__name__}: {e}; grade this "
                                   "submission again"])
            _zero_cells(result, a)
        merge_safely(result, merge)
        results[i] = result
        if on_result:
            on_result(result)
    return [r for r in results if r is not None]
