"""Feedback pages, built from the gradebook and the grader's results of a real graded class."""
import html
import json

import pytest

from classroom import CHAPTER, hidden_lines_all
from grader.cli import main
from grader.feedback import (MIN_SECRET_LINE, Exercise, Sheet, feedback_path,
                             hidden_test_lines, render, sheet, write_feedback)


@pytest.fixture
def pages(class_var):
    return {p.parents[1].name: p for p in write_feedback(CHAPTER)}


def test_one_page_per_student_in_nbgrader_layout(pages, graded_class, class_var):
    assert sorted(pages) == sorted(graded_class.expected)
    for student, page in pages.items():
        assert page == feedback_path(CHAPTER, student)
        assert page == class_var / "feedback" / student / CHAPTER / f"{CHAPTER}.html"


def test_totals_on_each_page(pages, graded_class):
    for student, score in graded_class.expected.items():
        text = pages[student].read_text()
        assert f"Score: <strong>{score:g} / 10 points" in text, student


def test_partial_submission_explains_each_exercise(pages, class_var):
    s = sheet(CHAPTER, "partial")
    by = {ex.name: ex for ex in s.exercises}
    assert [ex.name for ex in s.exercises] == ["ex1-synthetic-data", "ex2-data-iter", "ex3-linreg",
                                               "ex4-squared-loss", "ex5-sgd", "ex6-train"]
    assert (by["ex1-synthetic-data"].status, by["ex1-synthetic-data"].score) == ("passed", 2)
    assert (by["ex3-linreg"].status, by["ex3-linreg"].score) == ("passed", 1)
    assert by["ex4-squared-loss"].status == "failed" and by["ex4-squared-loss"].score == 0
    assert "squared_loss should return (y_hat - y)^2 / 2" in by["ex4-squared-loss"].message
    assert "NotImplementedError" in by["ex2-data-iter"].message
    assert by["ex5-sgd"].message == "the grader's test call raised ValueError"
    text = html.unescape(pages["partial"].read_text())
    assert by["ex4-squared-loss"].message in text


def test_no_hidden_test_line_on_any_page(pages, graded_class):
    markers = {"### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"}
    secrets = {line for line in hidden_lines_all() if len(line) >= MIN_SECRET_LINE} | markers
    assert len(secrets) > 30
    assert secrets >= hidden_test_lines(CHAPTER)
    for student, page in pages.items():
        raw = page.read_text()
        for text in (raw, html.unescape(raw)):
            leaked = [line for line in secrets if line in text]
            assert not leaked, (student, leaked[:3])


def test_what_decides_a_verdict_never_reaches_the_kernel(pages, graded_class):
    """The test above means something: the partial submission's sgd prints and raises the
    source of whatever test code calls it. Its kernel saw the visible check (printed in
    the instructor's autograded copy), but no line of a judge or of a hidden test: the
    verdict was decided in the grading process, and the page says only what was raised."""
    graded = graded_class.var / "autograded" / "partial" / CHAPTER / f"{CHAPTER}.ipynb"
    outputs = json.dumps(json.loads(graded.read_text())["cells"])
    assert "ch01.check_sgd(sgd)" in outputs
    secrets = {line for line in hidden_lines_all() if len(line) >= 20}
    assert not [line for line in secrets if line in outputs]
    assert "the grader&#x27;s test call raised ValueError" in pages["partial"].read_text() or \
        "the grader's test call raised ValueError" in html.unescape(pages["partial"].read_text())


def test_render_refuses_a_page_that_would_leak():
    secret = "assert torch.allclose(p1, p2) and torch.allclose(q1, q2)"
    s = Sheet(CHAPTER, "eve", "graded", 0, 2,
              [Exercise("ex5-sgd-tests", 0, 2, "failed", f"ValueError: {secret}")])
    with pytest.raises(RuntimeError, match="hidden-test"):
        render(s, {secret})


def test_rejected_submission_page_says_why(pages, class_var):
    s = sheet(CHAPTER, "garbage")
    assert s.status == "rejected" and s.notes
    text = html.unescape(pages["garbage"].read_text())
    assert "could not be graded" in text
    assert s.notes[0] in text


def test_feedback_verb(class_var, capsys):
    assert main(["feedback", CHAPTER, "--student", "full"]) == 0
    assert "1 feedback page(s)" in capsys.readouterr().out


def test_without_results_the_notebook_outputs_are_used(graded_class, tmp_path, monkeypatch):
    """A class graded by plain `nbgrader autograde` has no result files: the pages come
    from the gradebook and the error outputs of the autograded notebooks, still redacted."""
    import shutil

    var = tmp_path / "var"
    shutil.copytree(graded_class.var, var, ignore=shutil.ignore_patterns("results", "feedback"))
    monkeypatch.setenv("DLCOURSE_VAR", str(var))
    pages = {p.parents[1].name: p for p in write_feedback(CHAPTER)}
    s = sheet(CHAPTER, "partial")
    by = {ex.name: ex for ex in s.exercises}
    assert s.score == 3 and by["ex4-squared-loss"].status == "failed"
    assert by["ex2-data-iter"].message.startswith("NotImplementedError")
    assert by["ex5-sgd"].message.startswith("ValueError")
    secrets = {line for line in hidden_lines_all() if len(line) >= MIN_SECRET_LINE}
    for page in pages.values():
        text = html.unescape(page.read_text())
        assert not [line for line in secrets if line in text]


def test_a_grader_error_shows_no_traceback_to_the_student():
    s = Sheet(CHAPTER, "bob", "error", 0, 10, [Exercise("ex1-synthetic-data-tests", 0, 2, "missing")],
              notes=["grader error: DeadKernelError: Kernel died",
                     'Traceback (most recent call last):\n  File "/srv/grader/grading.py", line 1'])
    page = render(s)
    assert "grader hit a problem" in page
    assert "Traceback" not in page and "/srv/grader" not in page
