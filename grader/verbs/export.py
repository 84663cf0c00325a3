"""Export grades as CSV for a learning-management system: one row per student,
a column per assignment and the total (late penalties taken off, 0 when nothing
was submitted, as in `nbgrader export`). --detail adds a column per exercise.
"""
from pathlib import Path

from ..export import export_csv, max_scores
from . import assignment_id


def add_arguments(p):
    p.add_argument("assignments", type=assignment_id, nargs="*",
                   help="assignment ids (default: all graded ones)")
    p.add_argument("--to", type=Path, help="CSV file to write (default var/exports/grades.csv)")
    p.add_argument("--detail", action="store_true", help="also one column per exercise")


def run(args):
    dest = export_csv(args.to, args.assignments or None, detail=args.detail)
    tops = max_scores(args.assignments or None)
    print(f"wrote {dest}")
    print("maximum scores: " + ", ".join(f"{a} {m:g}" for a, m in tops.items())
          + f"; total {sum(tops.values()):g}")
    return 0
