"""Run nbgrader validate on the solution notebooks: each must pass its own tests."""
from ..build import validate
from . import assignment_id


def add_arguments(p):
    p.add_argument("assignments", type=assignment_id, nargs="*",
                   help="assignment ids (default: all chapters)")


def run(args):
    failures = validate(args.assignments or None)
    for f in failures:
        print("FAILED", f)
    if not failures:
        print("all solution notebooks validate")
    return 1 if failures else 0
