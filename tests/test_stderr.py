"""nbgrader zeroes a test cell that wrote anything to stderr. The course's
configuration drops warnings and tqdm progress lines first, so a correct answer
keeps its points while a real failure still scores 0."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
A = "01-stderr"


def graded(source: str, grade_id: str, points: int = 1):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": points,
                                 "grade_id": grade_id, "schema_version": 3, "task": False}
    return cell


def test_warnings_and_progress_bars_on_stderr_cost_no_points(tmp_path):
    course = tmp_path / "course"
    for rel in ["grader", "nbgrader_config.py", "pyproject.toml"]:
        src = ROOT / rel
        if src.is_dir():
            shutil.copytree(src, course / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (course / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, course / rel)
    answer = new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION")
    answer.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False,
                                   "grade_id": "answer", "schema_version": 3, "task": False}
    nb = new_notebook(cells=[
        new_code_cell("import sys, warnings\nimport torch\nfrom tqdm import tqdm", metadata={"tags": ["setup"]}),
        answer,
        graded("warnings.warn('this API is deprecated', UserWarning)\nassert double(2) == 4", "python-warning"),
        graded("t = torch.tensor(2.0, requires_grad=True)\nassert float(t * 2) == 4.0  # torch warns on stderr\n"
               "assert double(3) == 6", "torch-warning"),
        graded("for _ in tqdm(range(50), file=sys.stderr, mininterval=0):\n    pass\nassert double(1) == 2",
               "tqdm-bar"),
        graded("warnings.warn('still wrong', UserWarning)\nassert double(2) == 5, 'wrong on purpose'",
               "real-failure"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (course / "solutions" / A).mkdir(parents=True)
    nbformat.write(nb, course / "solutions" / A / f"{A}.ipynb")

    env = dict(os.environ, DLCOURSE_COURSE_ROOT=str(course), DLCOURSE_VAR=str(course / "var"))
    run = lambda *args: subprocess.run([sys.executable, "-m", *args], cwd=course, env=env,
                                       capture_output=True, text=True, timeout=600)
    proc = run("grader", "build", A)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sub = course / "var" / "submitted" / "ann" / A
    sub.mkdir(parents=True)
    shutil.copy(course / "solutions" / A / f"{A}.ipynb", sub / f"{A}.ipynb")
    proc = run("nbgrader", "autograde", A, "--student", "ann")
    assert proc.returncode == 0, proc.stdout + proc.stderr

    graded_nb = nbformat.read(course / "var" / "autograded" / "ann" / A / f"{A}.ipynb", as_version=4)
    stderr_seen = {c.metadata["nbgrader"]["grade_id"] for c in graded_nb.cells
                   if c.cell_type == "code" and "nbgrader" in c.metadata
                   and any(o.get("name") == "stderr" for o in c.outputs)}
    assert not stderr_seen & {"python-warning", "torch-warning", "tqdm-bar"}

    from nbgrader.api import Gradebook
    gb = Gradebook(f"sqlite:///{course / 'var' / 'gradebook.db'}")
    try:
        scores = {g.name: g.score for g in gb.find_submission_notebook(A, A, "ann").grades}
    finally:
        gb.close()
    assert scores == {"python-warning": 1, "torch-warning": 1, "tqdm-bar": 1, "real-failure": 0}
