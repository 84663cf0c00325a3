"""Reading scores out of nbgrader's gradebook."""
from __future__ import annotations

from contextlib import contextmanager

from .course import var_dir


@contextmanager
def open_gradebook():
    from nbgrader.api import Gradebook

    gb = Gradebook(f"sqlite:///{var_dir() / 'gradebook.db'}")
    try:
        yield gb
    finally:
        gb.close()


def scores(assignment: str, student: str) -> tuple[float, float]:
    """(score, max_score) of one submission."""
    with open_gradebook() as gb:
        sub = gb.find_submission(assignment, student)
        return sub.score, sub.max_score


def cell_scores(assignment: str, student: str) -> dict[str, tuple[float, float]]:
    """{grade cell id: (score, max_score)} of one submission."""
    with open_gradebook() as gb:
        nb = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.score, g.max_score) for g in nb.grades}


def score_table(assignments: list[str], students: list[str]) -> tuple[str, bool]:
    """A text table of scores, and whether the demo expectation holds
    (first student full marks, the others 0)."""
    width = max(len(a) for a in assignments) + 2
    head = "chapter".ljust(width) + "".join(s.rjust(18) for s in students)
    lines, ok = [head, "-" * len(head)], True
    for a in assignments:
        row = a.ljust(width)
        for i, s in enumerate(students):
            got, top = scores(a, s)
            row += f"{got:g} / {top:g}".rjust(18)
            ok &= (got == top) if i == 0 else (got == 0)
        lines.append(row)
    return "\n".join(lines), ok
