"""The class report of each assignment: score summary and histogram, pass rate per
exercise with the commonest failure, the slowest test cells, and the submissions
that needed special handling (with the grader's notes).

Writes var/reports/<assignment>/report.md, report.html and scores.png.
"""
from ..course import assignments
from ..feedback import graded_students
from ..report import write_report
from . import assignment_id


def add_arguments(p):
    p.add_argument("assignments", type=assignment_id, nargs="*",
                   help="assignment ids (default: every graded chapter)")


def run(args):
    names = args.assignments or [a for a in assignments() if graded_students(a)]
    if not names:
        print("no graded submissions found; run autograde first")
        return 1
    for a in names:
        paths = write_report(a)
        print(f"{a}: {paths['html']} (+ report.md, {paths['png'].name})")
    return 0
