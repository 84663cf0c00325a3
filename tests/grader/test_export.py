"""LMS export of a real gradebook, checked against nbgrader's own export."""
import csv

import pytest

from classroom import CHAPTER
from grader.cli import main
from grader.course import nbgrader
from grader.export import export_csv, grade_rows


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_one_row_per_student_with_total(class_var, graded_class):
    rows = read(export_csv())
    assert [r["student_id"] for r in rows] == sorted(graded_class.expected)
    assert list(rows[0]) == ["student_id", "last_name", "first_name", "email", CHAPTER, "total"]
    for r in rows:
        assert float(r[CHAPTER]) == graded_class.expected[r["student_id"]]
        assert float(r["total"]) == float(r[CHAPTER])


def test_detail_has_a_column_per_exercise(class_var, tmp_path):
    rows = {r["student_id"]: r for r in read(export_csv(tmp_path / "detail.csv", detail=True))}
    exercise_columns = [k for k in rows["full"] if k.startswith(f"{CHAPTER}/")]
    assert len(exercise_columns) == 6
    for r in rows.values():
        assert sum(float(r[k]) for k in exercise_columns) == float(r[CHAPTER])
    partial = {k.split("/")[1]: float(rows["partial"][k]) for k in exercise_columns}
    assert partial == {"ex1-synthetic-data": 2, "ex2-data-iter": 0, "ex3-linreg": 1,
                       "ex4-squared-loss": 0, "ex5-sgd": 0, "ex6-train": 0}


def test_nbgrader_export_still_works_and_agrees(class_var, tmp_path):
    ours = {r["student_id"]: float(r[CHAPTER]) for r in read(export_csv(tmp_path / "ours.csv"))}
    nbgrader("export", "--to", str(tmp_path / "nbgrader.csv"))
    theirs = {r["student_id"]: float(r["score"]) for r in read(tmp_path / "nbgrader.csv")
              if r["assignment"] == CHAPTER}
    assert theirs == ours


def test_unknown_assignment_says_what_is_graded(class_var):
    with pytest.raises(SystemExit, match=f"assignments in the gradebook: {CHAPTER}"):
        grade_rows(["99-nothing"])


def test_export_verb(class_var, tmp_path, capsys):
    assert main(["export", "--to", str(tmp_path / "g.csv"), "--detail"]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and f"{CHAPTER} 10" in out
    assert len(read(tmp_path / "g.csv")) == 4
