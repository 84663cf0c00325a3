"""The result of grading one submission: what ``grade_one`` returns and ``merge`` records.

A :class:`Result` is plain data (picklable, JSON-serialisable), so a grading
worker can run anywhere (another process, a dask worker) and hand it back.
It is saved as ``var/results/<assignment>/<student>.json``::

    {"assignment": "01-linear-regression", "student": "alice",
     "status": "graded" | "rejected" | "error",
     "score": 7.0, "max_score": 10.0,
     "cells": [{"grade_id": "test-synthetic-data", "score": 1.0, "max_score": 1.0,
                "status": "passed" | "failed" | "error" | "missing" | "timeout",
                "message": "AssertionError: w has the wrong shape", "seconds": 0.8}],
     "notes": ["cell metadata recovered by matching against the release"],
     "seconds": 14.2, "peak_memory_mb": 412.0,
     "autograded_path": "/.../var/autograded/alice/01-linear-regression/01-linear-regression.ipynb",
     "merge_error": ""}

``status`` is "graded" when the notebook was executed (whatever its score),
"rejected" when the file could not be graded at all (not a notebook, the wrong
chapter: score 0, the reason in ``notes``) and "error" when the grader itself
failed (a bug or a broken environment, never the student's fault: the
submission should be graded again). ``merge_error`` says why a result could not
be written into the gradebook (e.g. "OperationalError: database is locked").
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .course import var_dir

@dataclass
class CellResult:
    """One graded (test) cell."""

    grade_id: str
    score: float
    max_score: float
    status: str  # "passed" | "failed" | "error" | "missing" | "timeout"
    message: str = ""  # exception name and message; never hidden-test source
    seconds: float = 0.0
    judged: bool = False  # the score is its judge's verdict (grader.judge), not nbgrader's


@dataclass
class Result:
    """One submission of one assignment by one student."""

    assignment: str
    student: str
    status: str  # "graded" | "rejected" | "error"
    score: float = 0.0
    max_score: float = 0.0
    cells: list[CellResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    peak_memory_mb: float = 0.0
    autograded_path: str = ""
    # Why the result could not be recorded in the gradebook ("" when it was): the
    # JSON result is kept; grade the submission again once the cause is fixed.
    merge_error: str = ""
    # The graded notebook (JSON text) until ``merge`` writes it to autograded_path;
    # not part of the saved result.
    notebook: str | None = field(default=None, repr=False)

    @property
    def cell(self) -> dict[str, CellResult]:
        """Cells by grade id."""
        return {c.grade_id: c for c in self.cells}

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("notebook")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        d = dict(d)
        d["cells"] = [CellResult(**c) for c in d.get("cells", [])]
        d.pop("notebook", None)
        return cls(**d)

    def save(self, path: Path | None = None) -> Path:
        """Write the JSON file (default ``var/results/<assignment>/<student>.json``), atomically."""
        path = path or result_path(self.assignment, self.student)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        os.replace(tmp, path)
        return path


def results_dir(assignment: str) -> Path:
    return var_dir() / "results" / assignment


def result_path(assignment: str, student: str) -> Path:
    return results_dir(assignment) / f"{student}.json"


def load_result(assignment: str, student: str) -> Result:
    """The saved result of one submission (FileNotFoundError when it was never graded)."""
    return Result.from_dict(json.loads(result_path(assignment, student).read_text()))
