"""Grading on a Dask cluster: the same work unit (grade_one -> Result), run on the workers
of a LocalCluster (2 worker processes, loopback only) and merged serially here."""
import sqlite3

import pytest

from classroom import CHAPTER, release_notebook, submit, wait_for_release
from grader.course import solution_path
from grader.distributed import autograde_on_cluster, course_gradebook, grade_on_cluster
from grader.gradebook import scores
from grader.results import load_result


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def course_var(tmp_path_factory):
    """A private var/ whose gradebook knows chapter 1 (DLCOURSE_VAR set for the module)."""
    var = tmp_path_factory.mktemp("cluster") / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLCOURSE_VAR", str(var))
        release_notebook(var)
        yield var


def test_solution_full_marks_untouched_zero(client, course_var):
    release = course_var / "release" / CHAPTER / f"{CHAPTER}.ipynb"
    submit(course_var, "full", f"{CHAPTER}.ipynb", solution_path(CHAPTER).read_text())
    submit(course_var, "untouched", f"{CHAPTER}.ipynb", release.read_text())
    wait_for_release()
    results = autograde_on_cluster(client, [CHAPTER], progress=False)
    got = {r.student: (r.status, r.score, r.max_score) for r in results}
    assert got == {"full": ("graded", 10, 10), "untouched": ("graded", 0, 10)}
    # merged here: the gradebook, the saved results and the autograded notebooks
    assert scores(CHAPTER, "full") == (10, 10) and scores(CHAPTER, "untouched") == (0, 10)
    assert load_result(CHAPTER, "full").score == 10
    assert (course_var / "autograded" / "full" / CHAPTER / f"{CHAPTER}.ipynb").is_file()
    # the workers got the course without the students
    shipped = course_var / "shipped.db"
    shipped.write_bytes(course_gradebook())
    with sqlite3.connect(shipped) as db:
        assert db.execute("SELECT count(*) FROM student").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM grade").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM source_cell").fetchone()[0] > 0


def test_a_failed_task_is_recorded_and_the_rest_goes_on(client, course_var):
    path = submit(course_var, "unlucky", f"{CHAPTER}.ipynb", "{}")
    merged = []
    # limits of the wrong type make the task itself raise on the worker
    results = grade_on_cluster(client, [(CHAPTER, "unlucky", path)], limits="broken",
                               merge=merged.append, retries=0)
    assert merged == results
    assert results[0].status == "error" and "dask task failed" in results[0].notes[0]
    assert results[0].max_score == 10 and results[0].score == 0


def test_autograde_verb_grades_on_the_cluster(client, course_var, capsys):
    """`python -m grader autograde --scheduler ADDRESS`: graded on the workers, merged
    here; a student without a submission is named and left out of the gradebook."""
    from grader.cli import main
    from nbgrader.api import Gradebook

    submit(course_var, "by-cluster", f"{CHAPTER}.ipynb", "not a notebook\n")
    code = main(["autograde", CHAPTER, "--scheduler", client.scheduler.address, "-q",
                 "-s", "by-cluster", "ghost"])
    out = capsys.readouterr().out
    assert code == 1, out  # 1: "ghost" has no submission
    assert "no collected submission of 01-linear-regression for: ghost" in out
    assert load_result(CHAPTER, "by-cluster").status == "rejected"
    assert scores(CHAPTER, "by-cluster") == (0, 10)
    gb = Gradebook(f"sqlite:///{course_var / 'gradebook.db'}")
    try:
        assert "ghost" not in {s.id for s in gb.students}
    finally:
        gb.close()
