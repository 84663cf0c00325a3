"""Grades as CSV for a learning-management system.

One row per student in the gradebook; columns: the student's id, names and
email, the score of each assignment and the total. A student who did not
submit gets 0, and a late penalty is taken off, exactly as ``nbgrader export``
does, so the two files agree on every score. With ``detail=True`` the file also
has one column per exercise (``<assignment>/<exercise>``).

The gradebook is only read: ``nbgrader export`` and the formgrader keep working
on it.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .course import assignments as course_assignments
from .course import var_dir
from .gradebook import open_gradebook

STUDENT_COLUMNS = ["student_id", "last_name", "first_name", "email"]


def _num(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


def grade_rows(selected: list[str] | None = None, detail: bool = False) -> tuple[list[str], list[dict]]:
    """(header, rows) of the grade table: one row (a dict keyed by header) per student.

    ``selected``: assignment ids (default: every assignment in the gradebook, in
    course order). ``detail``: add a column per grade cell after each assignment.
    """
    with open_gradebook() as gb:
        known = {a.name: a for a in gb.assignments}
        course = course_assignments()
        order = [a for a in course if a in known] + sorted(set(known) - set(course))
        names = list(selected or order)
        missing = [a for a in names if a not in known]
        if missing:
            known_text = ", ".join(order) or "none yet (run build, then autograde)"
            raise SystemExit(f"not in the gradebook: {', '.join(missing)}; "
                             f"assignments in the gradebook: {known_text}")

        header = list(STUDENT_COLUMNS)
        cells: dict[str, list[str]] = {}
        for a in names:
            header.append(a)
            if detail:
                cells[a] = [c.name for nb in known[a].notebooks for c in nb.grade_cells + nb.task_cells]
                cells[a].sort(key=_cell_order(a))
                header += [f"{a}/{c.removesuffix('-tests')}" for c in cells[a]]
        header.append("total")

        rows = {s.id: {"student_id": s.id, "last_name": s.last_name or "",
                       "first_name": s.first_name or "", "email": s.email or ""}
                for s in gb.students}
        for row in rows.values():
            for a in names:
                row[a] = 0.0
                for c in cells.get(a, []):
                    row[f"{a}/{c.removesuffix('-tests')}"] = 0.0
        for a in names:
            for sub in gb.assignment_submissions(a):
                row = rows[sub.student.id]
                row[a] = max(0.0, float(sub.score) - float(sub.late_submission_penalty or 0))
                if detail:
                    for nb in sub.notebooks:
                        for g in nb.grades:
                            row[f"{a}/{g.name.removesuffix('-tests')}"] = float(g.score)
    for row in rows.values():
        row["total"] = sum(row[a] for a in names)
    return header, [rows[s] for s in sorted(rows)]


def _cell_order(assignment: str):
    from .feedback import grade_id_order

    order = grade_id_order(assignment)
    return lambda g: (order.index(g) if g in order else len(order), g)


def max_scores(selected: list[str] | None = None) -> dict[str, float]:
    """{assignment: maximum score} for the selected (default all graded) assignments."""
    with open_gradebook() as gb:
        return {a.name: float(a.max_score) for a in gb.assignments
                if not selected or a.name in selected}


def export_csv(dest: Path | None = None, selected: list[str] | None = None,
               detail: bool = False) -> Path:
    """Write the grade table as CSV (default ``var/exports/grades.csv``); returns the path."""
    header, rows = grade_rows(selected, detail)
    dest = Path(dest) if dest else var_dir() / "exports" / "grades.csv"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _num(v) if isinstance(v, float) else v for k, v in row.items()})
    return dest
