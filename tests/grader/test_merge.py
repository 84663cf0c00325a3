"""grader.grading without a kernel: cell messages, and recording results in the gradebook
(late penalties, unknown students, failed merges, rejected submissions)."""
from __future__ import annotations

import json
import sqlite3

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_output

from classroom import CHAPTER, release_notebook, submit
from fixtures import submissions as subs
from grader import grading
from grader.cli import main
from grader.results import Result, load_result

A = CHAPTER
HIDDEN = {"assert torch.allclose(got, d2l.squared_loss(yh, yy), atol=1e-6)"}


def _cell(*outputs):
    return new_code_cell("check()", outputs=list(outputs))


def test_message_prefers_the_error_to_an_earlier_stderr_line():
    cell = _cell(new_output("stream", name="stderr", text="UserWarning: something\n"),
                 new_output("error", ename="AssertionError", evalue="w is wrong", traceback=[]))
    assert grading._message(cell) == ("failed", "AssertionError: w is wrong")
    only_stderr = _cell(new_output("stream", name="stderr", text="oops\nmore\n"))
    assert grading._message(only_stderr) == ("failed", "the test cell wrote to stderr: oops")


def test_message_is_one_short_line_and_withheld_when_it_may_leak():
    long = _cell(new_output("error", ename="ValueError", evalue="x " * 300 + "\nsecond line", traceback=[]))
    status, msg = grading._message(long)
    assert status == "error" and len(msg) <= len("ValueError: ") + 200 and "second" not in msg
    quoted = _cell(new_output("error", ename="ValueError",
                              evalue="see: " + next(iter(HIDDEN)), traceback=[]))
    assert "message withheld" in grading._message(quoted, HIDDEN)[1]
    encoded = _cell(new_output("error", ename="ValueError", evalue="debug " + "QUJD" * 12, traceback=[]))
    assert "message withheld" in grading._message(encoded)[1]
    hexed = _cell(new_output("error", ename="ValueError", evalue="0123456789abcdef" * 3, traceback=[]))
    assert "message withheld" in grading._message(hexed)[1]
    plain = _cell(new_output("error", ename="AssertionError",
                             evalue="squared_loss should give [0.0, 2.0, 4.5], got [0.0, 2.0, 3.0]",
                             traceback=[]))
    assert grading._message(plain)[1].endswith("got [0.0, 2.0, 3.0]")


@pytest.fixture(scope="module")
def course_var(tmp_path_factory):
    var = tmp_path_factory.mktemp("merge") / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLCOURSE_VAR", str(var))
        release_notebook(var)
        yield var


def _graded(student: str) -> Result:
    """A result as grade_one returns it for a correct notebook (no outputs: every test passes)."""
    nb = nbformat.reads(json.dumps(subs.correct_notebook()), as_version=4)
    return Result(assignment=A, student=student, status="graded", score=10.0, max_score=10.0,
                  notebook=nbformat.writes(nb))


def _config(method: str):
    from traitlets.config import Config

    config = Config()
    config.LateSubmissionPlugin.penalty_method = method
    return config


def _submission(student: str):
    from nbgrader.api import Gradebook

    gb = Gradebook(f"sqlite:///{grading.var_dir() / 'gradebook.db'}")
    return gb, gb.find_submission_notebook(A, A, student)


def test_late_penalty_is_applied(course_var):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_var / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(A, duedate="2024-01-01 00:00:00 UTC")
    for student, stamp in (("late", "2024-01-02 00:00:00 UTC"), ("ontime", "2023-12-31 00:00:00 UTC")):
        path = submit(course_var, student, f"{A}.ipynb", "{}")
        (path.parent / "timestamp.txt").write_text(stamp)
        grading.merge(_graded(student), config=_config("zero"))
    gb, late = _submission("late")
    with gb:
        assert late.score == 10 and late.late_submission_penalty == 10
        assert gb.find_submission_notebook(A, A, "ontime").late_submission_penalty is None


def test_rejected_submission_needs_a_look_only_where_a_manual_grade_exists(course_var):
    rejected = Result(assignment=A, student="rejected", status="rejected", notes=["not graded: x"])
    grading._zero_cells(rejected, A)
    grading.merge(rejected, config=_config("none"))
    gb, nb = _submission("rejected")
    with gb:
        assert all(g.auto_score == 0 and not g.needs_manual_grade for g in nb.grades)
        nb.grades[0].manual_score = 1.0
        gb.db.commit()
    grading.merge(rejected, config=_config("none"))
    gb, nb = _submission("rejected")
    with gb:  # as nbgrader's SaveAutoGrades: a manual grade stays, and is flagged for review
        assert nb.grades[0].manual_score == 1.0 and nb.grades[0].needs_manual_grade
        assert not any(g.needs_manual_grade for g in nb.grades[1:])


def test_an_unknown_student_is_neither_graded_nor_added(course_var, capsys):
    submit(course_var, "alice", f"{A}.ipynb", "not a notebook")
    assert main(["autograde", A, "-s", "alcie", "alice", "-q", "-j", "1"]) == 1
    out = capsys.readouterr().out
    assert f"no collected submission of {A} for: alcie" in out and "collected: alice" in out
    with sqlite3.connect(course_var / "gradebook.db") as db:
        students = {row[0] for row in db.execute("SELECT id FROM student")}
    assert "alcie" not in students and "alice" in students
    assert not (course_var / "results" / A / "alcie.json").exists()


def test_a_failed_merge_is_reported_and_the_batch_goes_on(course_var, monkeypatch, capsys):
    for s in ("m1", "m2", "m3"):
        submit(course_var, s, f"{A}.ipynb", "not a notebook either")
    from grader import merge as merging

    real = merging.merge

    def locked(result, config=None):
        if result.student == "m2":
            raise sqlite3.OperationalError("database is locked")
        return real(result, config)

    monkeypatch.setattr(merging, "merge", locked)
    assert main(["autograde", A, "-s", "m1", "m2", "m3", "-q", "-j", "1"]) == 1
    out = capsys.readouterr().out
    assert "m2: OperationalError: database is locked" in out
    assert f"python -m grader autograde {A} -s m2" in out
    assert load_result(A, "m2").merge_error == "OperationalError: database is locked"
    with sqlite3.connect(course_var / "gradebook.db") as db:
        students = {row[0] for row in db.execute("SELECT id FROM student")}
    assert {"m1", "m3"} <= students and "m2" not in students


def test_a_guard_that_cannot_be_installed_is_the_graders_error(course_var, monkeypatch):
    """No student code has run when the guard is installed: a failure there is the
    grader's own (status "error", graded again later), not the first cell's fault."""
    from grader import sanitize

    monkeypatch.setattr(sanitize, "guard_install_expression", lambda *args: "1 / 0")
    path = submit(course_var, "guardless", f"{A}.ipynb", subs.dump(subs.correct_notebook()).decode())
    result = grading.grade_one(A, "guardless", path)
    assert result.status == "error", result.notes
    said = " ".join(result.notes)
    assert "integrity guard could not be installed (ZeroDivisionError" in said, said
    assert "interfere" not in said and "replaced or bypassed" not in said, said


def test_d2l_is_guarded_only_where_the_instructors_cells_use_it():
    from grader.course import solution_path
    from grader.execute import guard_modules, tests_use_d2l

    nb = nbformat.read(solution_path("02-softmax-regression"), as_version=4)
    assert not tests_use_d2l(nb)
    locked = new_code_cell("from d2l import torch as d2l", metadata={"nbgrader": {
        "locked": True, "grade": False, "solution": False, "grade_id": "uses-d2l"}})
    nb.cells.append(locked)
    assert tests_use_d2l(nb)
    modules, aliases = guard_modules("02-softmax-regression", with_d2l=False)
    assert "d2l.torch" not in modules and "d2l" not in aliases and "torch" in modules
    modules, aliases = guard_modules("01-linear-regression")
    assert "d2l.torch" in modules and aliases["d2l"] == "d2l.torch"


# --- the submission folder is the student's: no link is followed --------------------

def _links(folder, target_file, target_dir) -> dict[str, str]:
    """A submission folder holding links of several forms, and regular files beside them.
    Returns {name: what it is} of the entries that must not be copied."""
    import os

    (folder / "notes.txt").write_text("my notes\n")
    (folder / "data").mkdir()
    (folder / "data" / "points.csv").write_text("x,y\n1,2\n")
    os.symlink(target_file, folder / "grades.db")                 # a link to a file
    os.symlink(target_dir, folder / "solutions")                  # a link to a folder
    os.symlink(target_file, folder / "data" / "more.csv")         # a link in a subfolder
    os.symlink("../../../gradebook.db", folder / "relative.db")   # a relative link
    os.mkfifo(folder / "pipe")                                    # a fifo: reading it would block
    return {"grades.db": "a symbolic link", "solutions": "a symbolic link",
            "data/more.csv": "a symbolic link", "relative.db": "a symbolic link", "pipe": "a fifo"}


def test_merge_copies_no_link_and_no_fifo_from_the_submission(course_var):
    from grader.course import ROOT

    path = submit(course_var, "linker", f"{A}.ipynb", "{}")
    refused = _links(path.parent, course_var / "gradebook.db", ROOT / "solutions")
    result = _graded("linker")
    grading.merge(result, config=_config("none"))
    dest = course_var / "autograded" / "linker" / A
    copied = sorted(str(p.relative_to(dest)) for p in dest.rglob("*"))
    assert copied == [f"{A}.ipynb", "data", "data/points.csv", "notes.txt"], copied
    assert (dest / "data" / "points.csv").read_text() == "x,y\n1,2\n"
    said = "\n".join(result.notes)
    for name, kind in refused.items():
        assert f"linker/{A}/{name} is {kind}" in said, (name, said)
    assert load_result(A, "linker").notes == result.notes  # saved with the result


def test_a_linked_timestamp_or_chapter_folder_is_not_followed(course_var):
    import os

    outside = course_var.parent / "outside"
    (outside / A).mkdir(parents=True)
    (outside / "stamp.txt").write_text("2020-01-01 00:00:00 UTC")
    (outside / A / "stolen.txt").write_text("someone else's file")
    path = submit(course_var, "stamper", f"{A}.ipynb", "{}")
    os.symlink(outside / "stamp.txt", path.parent / "timestamp.txt")
    (course_var / "submitted" / "folder-linker").mkdir()
    os.symlink(outside / A, course_var / "submitted" / "folder-linker" / A)
    for student in ("stamper", "folder-linker"):
        result = _graded(student)
        grading.merge(result, config=_config("none"))
        gb, nb = _submission(student)
        with gb:
            assert str(nb.assignment.timestamp)[:4] != "2020", student
        assert any("is a symbolic link" in n for n in result.notes), (student, result.notes)
    assert "timestamp.txt is a symbolic link" in " ".join(load_result(A, "stamper").notes)
    assert not (course_var / "autograded" / "folder-linker" / A / "stolen.txt").exists()


def test_a_file_with_another_hard_link_is_not_copied(course_var):
    import os

    path = submit(course_var, "hardlinker", f"{A}.ipynb", "{}")
    secret = course_var / "secret.txt"
    secret.write_text("the instructor's")
    os.link(secret, path.parent / "copy.txt")
    result = _graded("hardlinker")
    grading.merge(result, config=_config("none"))
    assert not (course_var / "autograded" / "hardlinker" / A / "copy.txt").exists()
    assert any("copy.txt has other hard links" in n for n in result.notes), result.notes


def test_merge_stores_the_graded_notebook_inert(course_var):
    submit(course_var, "scripter", f"{A}.ipynb", "{}")
    result = _graded("scripter")
    nb = nbformat.reads(result.notebook, as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [new_output("display_data", data={"text/html": "<script>alert(1)</script>",
                                                      "application/javascript": "alert(2)"})]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    result.notebook = nbformat.writes(nb)
    grading.merge(result, config=_config("none"))
    stored = nbformat.read(result.autograded_path, as_version=4)
    out = next(c for c in stored.cells if c.cell_type == "code").outputs[0]
    assert set(out.data) == {"text/plain"} and "<script>alert(1)</script>" in out.data["text/plain"]
    assert "widgets" not in stored.metadata
    gb, sub = _submission("scripter")
    with gb:
        assert sub.score == 10  # grades are read before the notebook is made inert
