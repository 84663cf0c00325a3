"""Write one HTML feedback page per student and assignment, from the gradebook and
the grader's results: per exercise the points, passed or failed, and the error
message; the notes of any special handling. Hidden tests are never shown.

Pages go to var/feedback/<student>/<assignment>/<assignment>.html (nbgrader's
layout: `nbgrader release_feedback` hands them out).
"""
from ..course import assignments, var_dir
from ..feedback import write_feedback
from . import assignment_id


def add_arguments(p):
    p.add_argument("assignments", type=assignment_id, nargs="*",
                   help="assignment ids (default: all chapters)")
    p.add_argument("--student", action="append", help="only this student (repeatable)")


def run(args):
    total = 0
    for a in args.assignments or assignments():
        pages = write_feedback(a, args.student)
        total += len(pages)
        if pages or args.assignments:
            print(f"{a}: {len(pages)} feedback page(s)")
    if total:
        print(f"pages are in {var_dir() / 'feedback'}")
    else:
        print("no graded submissions found; run autograde first")
    return 0
