"""Regenerate the student notebooks in notebooks/ from the instructor solutions in
solutions/ (nbgrader generate_assignment: stubs for solutions, hidden tests removed,
outputs cleared). Commit notebooks/ together with the solutions you changed.
"""
from ..build import build
from . import assignment_id


def add_arguments(p):
    p.add_argument("assignments", type=assignment_id, nargs="*",
                   help="assignment ids (default: all chapters)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args):
    names = build(args.assignments or None, quiet=args.quiet)
    print(f"built {len(names)} student notebook(s) in notebooks/")
