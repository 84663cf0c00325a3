"""Shared fixtures. Every test that grades or builds gets its own gradebook
(DLCOURSE_VAR) so tests never touch var/ or each other."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repo import tracked_files

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# nbgrader shells out to `jupyter` and `alembic`: the environment's bin comes first.
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("DLCOURSE_PROGRESS", "0")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


@pytest.fixture
def private_var(tmp_path, monkeypatch):
    """A private var/ (gradebook, submissions) for one test."""
    var = tmp_path / "var"
    var.mkdir()
    monkeypatch.setenv("DLCOURSE_VAR", str(var))
    return var



@pytest.fixture(scope="session")
def graded_demo(tmp_path_factory):
    """A private copy of the course, built and autograded once by `python -m grader demo`:
    (course folder, the finished process, its environment). The solution of every chapter
    is graded as student ``demo-solution``, so its executed notebook, with every output,
    is ``<course>/var/autograded/demo-solution/<chapter>/<chapter>.ipynb``."""
    course = tmp_path_factory.mktemp("course")
    for f in tracked_files():
        if f.startswith("notebooks/"):
            continue  # the build must regenerate these
        (course / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, course / f)
    env = dict(os.environ, DLCOURSE_COURSE_ROOT=str(course), DLCOURSE_VAR=str(course / "var"))
    proc = subprocess.run([sys.executable, "-m", "grader", "demo"], cwd=course, env=env,
                          capture_output=True, text=True, timeout=1800)
    return course, proc, env


def pytest_terminal_summary(terminalreporter):
    """The counts per exercise of the answer catalogs, when tests/grader/test_verdicts.py ran."""
    module = sys.modules.get("test_verdicts")
    lines = module.summary_lines() if module is not None else []
    if lines:
        terminalreporter.section("answer catalogs (issue 14): per exercise")
        for line in lines:
            terminalreporter.write_line(line)
