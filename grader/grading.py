"""Autograding submissions with nbgrader (serial; the engine under every grader)."""
from __future__ import annotations

from .course import nbgrader


def autograde_submissions(assignments: list[str], students: list[str] | None = None) -> None:
    """``nbgrader autograde`` each assignment for the given students (default: all submitted)."""
    from dlcourse import progress

    jobs = [(a, s) for a in assignments for s in (students or [None])]
    for a, s in progress(jobs, desc="autograding", unit="notebook"):
        extra = ["--student", s] if s else []
        nbgrader("autograde", a, "--force", *extra)
