"""Fixtures of the grader tests: the class of classroom.py, graded once per test
session with the course's grader into a private var/ (its own gradebook), for the
tests of feedback, export and the class report."""
from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from classroom import CHAPTER, EXPECTED, partial_notebook, release_notebook, submit, wait_for_release
from grader.course import solution_path


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """The graded class: SimpleNamespace(var, chapter, expected={student: score}, seconds)."""
    from grader.grading import autograde_submissions

    var = tmp_path_factory.mktemp("graded-class") / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLCOURSE_VAR", str(var))
        release = release_notebook(var)
        paths = {
            "full": submit(var, "full", f"{CHAPTER}.ipynb", solution_path(CHAPTER).read_text()),
            "untouched": submit(var, "untouched", f"{CHAPTER}.ipynb", release.read_text()),
            "partial": submit(var, "partial", f"{CHAPTER}.ipynb", json.dumps(partial_notebook(release))),
            "garbage": submit(var, "garbage", f"{CHAPTER}.ipynb", "this is not a notebook\n"),
        }
        t0 = time.perf_counter()
        wait_for_release()
        results = autograde_submissions([CHAPTER], list(paths), workers=2, progress=False)
        seconds = time.perf_counter() - t0
        # Graded once: a wrong score here is a grader bug, not something to retry away.
        got = {r.student: (r.status, r.score) for r in results}
        assert all(got[s][1] == EXPECTED[s] and got[s][0] != "error" for s in EXPECTED), got
    return SimpleNamespace(var=var, chapter=CHAPTER, expected=EXPECTED, seconds=seconds)


@pytest.fixture
def class_var(graded_class, monkeypatch):
    """Point DLCOURSE_VAR at the graded class for one test."""
    monkeypatch.setenv("DLCOURSE_VAR", str(graded_class.var))
    return graded_class.var
