"""The instructor's cycle through nbgrader's real exchange, with two students.

release (python -m grader release) -> students fetch_assignment and submit (plain
nbgrader, as on a JupyterHub) -> collect --exchange -> autograde (sandboxed) ->
feedback -> release --feedback -> students fetch_feedback. Then nbgrader's own
formgrader API (what the formgrader pages call) reads the gradebook the grader wrote.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures import submissions as subs
from grader.course import ROOT, nbgrader

A = subs.ASSIGNMENT
COURSE = "dl-linear-mlp"


def run(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(args)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    base = tmp_path_factory.mktemp("exchange")
    exchange, var = base / "exchange", base / "var"
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)
    env = dict(os.environ, DLCOURSE_VAR=str(var), DLCOURSE_EXCHANGE=str(exchange),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLCOURSE_VAR", str(var))
        # the assignment in a private gradebook (the committed notebooks/ is the release)
        nbgrader("generate_assignment", A, "--force",
                 f"--CourseDirectory.release_directory={base / 'release'}")
    grader = [sys.executable, "-m", "grader"]
    run([*grader, "release", A], ROOT, env)

    # Students: plain nbgrader with only the exchange configured (no course config).
    students = {"alice": subs.correct_notebook(), "bob": None}
    for student, filled in students.items():
        home = base / student
        home.mkdir()
        (home / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n"
            f"c.CourseDirectory.course_id = {COURSE!r}\n")
        senv = dict(env, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"))
        senv.pop("DLCOURSE_VAR")
        run(["nbgrader", "fetch_assignment", A, f"--course={COURSE}"], home, senv)
        fetched = home / A / f"{A}.ipynb"
        assert fetched.is_file()
        if filled is not None:
            fetched.write_text(json.dumps(filled))
        run(["nbgrader", "submit", A, f"--course={COURSE}", f"--student={student}"], home, senv)

    collected = run([*grader, "collect", A, "--exchange"], ROOT, env)
    graded = run([*grader, "autograde", A, "-q", "-j", "2"], ROOT, env)
    run([*grader, "feedback", A], ROOT, env)
    released = run([*grader, "release", A, "--feedback"], ROOT, env)
    pages = {}
    for student in students:
        home = base / student
        senv = dict(env, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"))
        senv.pop("DLCOURSE_VAR")
        run(["nbgrader", "fetch_feedback", A, f"--course={COURSE}", f"--student={student}"],
            home, senv)
        pages[student] = sorted((home / A / "feedback").rglob("*.html"))
    return {"var": var, "pages": pages, "collected": collected, "graded": graded,
            "released": released}


def test_submissions_arrive_through_the_exchange(cycle):
    for student in ("alice", "bob"):
        folder = cycle["var"] / "submitted" / student / A
        assert (folder / f"{A}.ipynb").is_file(), cycle["collected"].stdout
        assert (folder / "timestamp.txt").is_file()


def test_scores_reach_the_gradebook_and_nbgraders_formgrader_api(cycle, monkeypatch):
    monkeypatch.setenv("DLCOURSE_VAR", str(cycle["var"]))
    monkeypatch.chdir(ROOT)
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "grader")).load_config()
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    subs_by_student = {s["student"]: s for s in api.get_submissions(A)}
    assert subs_by_student["alice"]["score"] == 10.0 and subs_by_student["alice"]["autograded"]
    assert subs_by_student["bob"]["score"] == 0.0 and subs_by_student["bob"]["autograded"]
    notebooks = {n["student"]: n for n in api.get_notebook_submissions(A, A)}
    assert notebooks["alice"]["score"] == notebooks["alice"]["max_score"] == 10.0
    assert not notebooks["alice"]["needs_manual_grade"]


def test_students_fetch_their_own_feedback(cycle):
    for student, score in (("alice", "10 / 10"), ("bob", "0 / 10")):
        pages = cycle["pages"][student]
        assert len(pages) == 1, f"{student}: {pages}"
        text = pages[0].read_text()
        assert score in text, f"{student}'s page does not say {score}"
        assert "BEGIN HIDDEN TESTS" not in text
