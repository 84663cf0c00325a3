"""Grading: one submission in a sandbox (:func:`grade_one`), then into the gradebook (:func:`merge`).

The pipeline for one notebook, each step one function or nbgrader preprocessor:

    load_submission (grader.sanitize: parse, upgrade, recover metadata, repair)
    -> ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata
       (nbgrader's sanitising preprocessors, against a private copy of the gradebook:
       locked test cells get their hidden tests back here)
    -> SandboxedExecute (nbgrader's Execute with the kernel in bubblewrap and its own
       cgroup, per-cell and per-notebook time limits, bounded output, the integrity
       guard restoring before every test cell and checked after every cell; a cell
       that kills the kernel, ignores the interrupt at its time limit or breaks the
       guard scores 0 and the notebook is run again, without it, in a fresh kernel)
    -> IgnorePattern, LimitOutput (nbgrader) -> scores (nbgrader's determine_grade),
       with each test cell's message cut to one line and withheld where it may carry
       hidden tests (see :func:`_shown`)

:func:`grade_one` never touches the shared gradebook: it returns a picklable
:class:`~grader.results.Result`, so it can run in a worker process or on a dask
worker. :func:`merge` then records it serially, as ``nbgrader autograde`` would
have (submission, grades, comments, late penalty, the autograded notebook), and
saves the result as ``var/results/<assignment>/<student>.json``; a merge that
fails (:func:`merge_safely`) is recorded on the result, and the batch goes on.
:func:`autograde_submissions` is the local parallel runner: persistent worker
processes (each imports nbgrader once and grades many notebooks), a progress bar
and serial merges in the parent.
"""
from __future__ import annotations

import copy
import functools
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from .course import var_dir
from .results import Result
from .sandbox import KernelCgroup, Limits, check_bwrap, kernel_uid, prepare_scratch, reap_user

# Per-process state of a grading worker: its private folder (gradebook snapshot,
# scratch folders) and the course configuration.
_WORKER = {"dir": None}
_SNAPSHOT_MAX_AGE = 30.0  # seconds; a worker re-copies the gradebook when older

def _slot() -> int:
    """This process's id: as root, its kernels run as user ``uid_base + pid``, unique
    among the grading processes running at the same time, even of other runs."""
    return os.getpid()


def _workdir() -> Path:
    if _WORKER["dir"] is None or not Path(_WORKER["dir"]).is_dir():
        d = Path(tempfile.mkdtemp(prefix="dlgrader-"))
        d.chmod(0o711)  # the sandboxed kernel's user may traverse to its scratch folder only
        (d / "private").mkdir(mode=0o700)
        _WORKER["dir"] = str(d)
        # removed when the process ends, normally or as a multiprocessing worker
        import atexit
        from multiprocessing import util

        atexit.register(shutil.rmtree, d, True)
        util.Finalize(None, shutil.rmtree, args=(d, True), exitpriority=0)
    return Path(_WORKER["dir"])


def _config():
    from .config import course_config

    return course_config()


def _gradebook_snapshot(assignment: str) -> str:
    """A private, consistent copy of the gradebook (it holds the hidden tests), URL form."""
    src = var_dir() / "gradebook.db"
    if not src.is_file():
        raise RuntimeError(f"no gradebook at {src}: run `python -m grader build {assignment}` first")
    import hashlib

    key = hashlib.sha1(str(src.resolve()).encode()).hexdigest()[:12]
    dest = _workdir() / "private" / f"gradebook-{key}.db"
    if not dest.is_file() or time.time() - dest.stat().st_mtime > _SNAPSHOT_MAX_AGE:
        tmp = dest.with_suffix(".tmp")
        with sqlite3.connect(src) as a, sqlite3.connect(tmp) as b:
            a.backup(b)
        os.replace(tmp, dest)
    return f"sqlite:///{dest}"


def grade_one(assignment: str, student: str, submission: Path, *,
              limits: Limits | None = None) -> Result:
    """Grade one submitted notebook in a sandbox; the shared gradebook is not touched.

    ``submission`` is the notebook file (or the folder holding ``<assignment>.ipynb``).
    Returns a :class:`Result` with the graded notebook attached (``result.notebook``)
    for :func:`merge`. Never raises for a bad submission: a file that cannot be graded
    gives ``status="rejected"``, a failure of the grader itself ``status="error"``.
    """
    import nbformat

    from .execute import Job, make_executor, tests_use_d2l
    from .sanitize import Rejected, load_submission

    limits = limits or Limits.from_config()
    submission = Path(submission)
    if submission.is_dir():
        submission = submission / f"{assignment}.ipynb"
    t0 = time.perf_counter()
    result = Result(assignment=assignment, student=student, status="graded")
    try:
        nb, notes = load_submission(submission, assignment)
    except Rejected as e:
        result.status, result.notes = "rejected", [f"not graded: {e}"]
        _zero_cells(result, assignment)
        result.seconds = round(time.perf_counter() - t0, 3)
        return result
    result.notes += notes
    scratch = _workdir() / f"scratch-{student}"
    cgroup = uid = None
    try:
        if limits.sandbox:
            check_bwrap()
        config = _config()
        slot = _slot()
        uid = kernel_uid(limits, slot)
        if uid is not None:
            reap_user(uid)
            cgroup = KernelCgroup.create(limits)
        prepare = functools.partial(prepare_scratch, scratch,
                                    submission.parent if submission.parent.name == assignment else None,
                                    owner=uid)
        left_out = prepare()
        result.notes += [f"not given to the notebook: {what}" for what in left_out]
        resources = {"nbgrader": {"notebook": assignment, "assignment": assignment,
                                  "student": student, "db_url": _gradebook_snapshot(assignment)},
                     "metadata": {"path": str(scratch)}}
        nb = _sanitize(nb, resources, config)
        job = Job(scratch=scratch, limits=limits, slot=slot, assignment=assignment, student=student,
                  cgroup=cgroup, with_d2l=tests_use_d2l(nb), prepare=prepare)
        make = functools.partial(make_executor, config, job)
        executor = make()
        try:
            nb, resources = executor.preprocess(copy.deepcopy(nb), resources)
        except RuntimeError as e:  # the kernel did not start (e.g. a loaded machine): once more
            if "before replying to kernel_info" not in str(e):
                raise
            if uid is not None:
                reap_user(uid)
            executor = make()
            nb, resources = executor.preprocess(nb, resources)
        nb = _postprocess(nb, resources, config)
        _collect_notes(result, executor, nb, limits)
        _score(result, nb, executor)
        result.peak_memory_mb = round(executor.peak_mb, 1)
        result.notebook = nbformat.writes(nb)
    except Exception as e:  # the grader's own failure: report, never crash the batch
        import traceback

        result.status = "error"
        result.notes.append(f"grader error: {type(e).__name__}: {e}")
        result.notes.append(traceback.format_exc(limit=6)[-1500:])
        _zero_cells(result, assignment)
    finally:
        if uid is not None:
            reap_user(uid)
        if cgroup is not None:
            cgroup.remove()
        shutil.rmtree(scratch, ignore_errors=True)
    result.seconds = round(time.perf_counter() - t0, 3)
    return result


def _sanitize(nb, resources, config):
    from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds,
                                        OverwriteCells, OverwriteKernelspec)

    for cls in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata):
        nb, resources = cls(config=config).preprocess(nb, resources)
    return nb


def _postprocess(nb, resources, config):
    from nbgrader.preprocessors import IgnorePattern, LimitOutput

    for cls in (IgnorePattern, LimitOutput):
        pp = cls(config=config)
        if getattr(pp, "enabled", True):
            nb, resources = pp.preprocess(nb, resources)
    return nb


# The steps around grade_one, re-exported for the callers that import them from here.
from .merge import autograded_file, merge, merge_safely, submission_file  # noqa: E402,F401
from .runner import autograde_submissions, submitted_students, unknown_students  # noqa: E402,F401
from .score import _collect_notes, _message, _score, _shown, _zero_cells  # noqa: E402,F401
