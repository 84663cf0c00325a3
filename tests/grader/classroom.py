"""The sample submissions of the grader tests: a small class of chapter-1 notebooks.

Students and the scores they must get:

- ``full``: the solution notebook -> 10 / 10;
- ``untouched``: the student notebook as released -> 0 / 10;
- ``partial``: exercises 1 and 3 solved (3 points), exercise 4 wrong (fails the
  visible check), exercise 5 hostile: it raises an exception whose message is the
  source of the test cell calling it, hidden tests included -> 3 / 10;
- ``garbage``: a file that is not a notebook -> rejected, with a note saying why.
"""
from __future__ import annotations

import json
from pathlib import Path

from grader.course import nbgrader, solution_path, student_path

CHAPTER = "01-linear-regression"
EXPECTED = {"full": 10.0, "untouched": 0.0, "partial": 3.0, "garbage": 0.0}

WRONG_LOSS = '''def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2
'''
# Finds the test cell that called it on the stack and raises with that cell's source
# after the visible check (the hidden tests) on one line: the feedback page must not show it.
LEAKY_SGD = '''def sgd(params, lr, batch_size):
    import inspect, linecache
    for frame in inspect.stack()[1:]:
        if "ipykernel" in frame.filename or "ipython-input" in frame.filename:
            lines = linecache.getlines(frame.filename)
            print("".join(lines))
            raise ValueError(" ; ".join(line.strip() for line in lines[2:]))
    raise ValueError("no test cell on the stack")
'''


def _strip_markers(source: str) -> str:
    return "".join(line for line in source.splitlines(keepends=True)
                   if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def partial_notebook(release: Path) -> dict:
    """The released notebook with some exercises solved, one wrong and one hostile."""
    solution = json.loads(solution_path(CHAPTER).read_text())
    answers = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
               for c in solution["cells"] if c["metadata"].get("nbgrader", {}).get("solution")}
    nb = json.loads(release.read_text())
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in ("ex1-synthetic-data", "ex3-linreg"):
            cell["source"] = _strip_markers(answers[gid])
        elif gid == "ex4-squared-loss":
            cell["source"] = WRONG_LOSS
        elif gid == "ex5-sgd":
            cell["source"] = LEAKY_SGD
    return nb


def hidden_lines_all() -> set[str]:
    """Every non-blank line of every hidden-test block in solutions/."""
    lines = set()
    for path in sorted(solution_path(CHAPTER).parents[1].glob("*/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            inside = False
            for line in "".join(cell["source"]).splitlines():
                text = line.strip()
                if text == "### BEGIN HIDDEN TESTS":
                    inside = True
                elif text == "### END HIDDEN TESTS":
                    inside = False
                elif inside and text:
                    lines.add(text)
    return lines | judge_lines_all()


def judge_lines_all() -> set[str]:
    """Every code line of the judges (grader/judges/*.py): what decides a verdict is as
    private as the hidden tests were."""
    from grader.course import ROOT

    public = "".join(p.read_text() for p in sorted((ROOT / "notebooks").glob("*/*.ipynb")))
    return {text for path in sorted((ROOT / "grader" / "judges").glob("ch*.py"))
            for line in path.read_text().splitlines() if (text := line.strip())
            and not text.startswith(('"', "'", "#")) and text not in public}


def release_notebook(var: Path) -> Path:
    """Build the student notebook into var/release (not notebooks/) and record the
    assignment in var's gradebook."""
    nbgrader("generate_assignment", CHAPTER, "--force",
             f"--CourseDirectory.release_directory={var / 'release'}")
    return var / "release" / CHAPTER / f"{CHAPTER}.ipynb"


def wait_for_release(seconds: float = 90) -> None:
    """The grader compares submissions with notebooks/; `grader build` rewrites it
    (nbgrader deletes the chapter folder first), so wait out a build running beside us."""
    import time

    deadline = time.monotonic() + seconds
    while not student_path(CHAPTER).is_file() and time.monotonic() < deadline:
        time.sleep(1)


def submit(var: Path, student: str, name: str, content: str) -> Path:
    dest = var / "submitted" / student / CHAPTER / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(content)
    return dest
